# A oneshot that refuses to let a VPN daemon start while its private key material is
# missing on the host, with a message naming the file and what provides it. (Private files
# are never visible at evaluation time, so this check has to run on the host.)
{
  lib,
  vpn,
  files,
  unit,
  secretsDir,
}:
{
  systemd.services."vpn-bench-secrets-${vpn}" = {
    description = "Check the ${vpn} key material in ${secretsDir}/${vpn}";
    before = [ unit ];
    requiredBy = [ unit ];
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
    };
    script = ''
      missing=0
      for file in ${lib.escapeShellArgs (map (f: "${secretsDir}/${vpn}/${f}") files)}; do
        if [ ! -s "$file" ]; then
          echo "vpn-bench: $file is missing or empty; the harness copies it from the output of 'vpn-bench keys' before switching to ${vpn} (layout: docs/secrets.md)" >&2
          missing=1
        fi
      done
      exit "$missing"
    '';
  };
}
