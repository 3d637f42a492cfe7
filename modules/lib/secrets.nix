# The key-material contract between `vpn-bench keys` (Python, the lead's side) and the NixOS
# modules, as data: docs/secrets.md describes it and tests/nix checks that both agree.
#
# Public material lives in the site directory (`<site>/public/<vpn>/...`) and is read at
# evaluation time. Private material lives on each host under `secretsDir/<vpn>/...`
# (root-only), copied there by the harness over SSH before switching, or generated on the
# host at first start. Nothing private is ever read at evaluation time or copied to the store.
#
# `{host}` in a file name stands for each host name of vpn-configs/testbed.toml.
let
  secretsDir = "/var/lib/vpn-bench/secrets";

  contract = {
    wireguard = {
      public = {
        "{host}.pub" = "`wg pubkey` of the host's private key (one base64 line)";
      };
      private = {
        "private.key" = {
          format = "`wg genkey` output (one base64 line)";
          origin = "vpn-bench keys";
        };
      };
    };
    nebula = {
      public = {
        "ca.crt" = "`nebula-cert ca` certificate (PEM)";
        "{host}.crt" = "`nebula-cert sign -name {host} -ip <static address>/<prefix>` certificate (PEM)";
      };
      private = {
        "host.key" = {
          format = "the key written by `nebula-cert sign -out-key` (PEM)";
          origin = "vpn-bench keys";
        };
      };
    };
    tinc = {
      public = {
        "{host}.pub" = "RSA public key written by `tincd -K` (PEM, BEGIN RSA PUBLIC KEY)";
      };
      private = {
        "rsa_key.priv" = {
          format = "RSA private key written by `tincd -K` (PEM, BEGIN RSA PRIVATE KEY)";
          origin = "vpn-bench keys";
        };
      };
    };
    vpncloud = {
      public = {
        "{host}.pub" = "the 'Public key' line of `vpncloud genkey` (one line)";
      };
      private = {
        "private.key" = {
          format = "the 'Private key' line of `vpncloud genkey` (one line)";
          origin = "vpn-bench keys";
        };
      };
    };
    hyprspace = {
      public = {
        "{host}.id" = "libp2p peer ID of the host's key (12D3KooW...)";
      };
      private = {
        "private.key" = {
          format = "multibase (base58btc, 'z' prefix) protobuf-encoded libp2p Ed25519 private key, the `privateKey` value of `hyprspace init`";
          origin = "vpn-bench keys";
        };
      };
    };
    easytier = {
      public = { };
      private = {
        "network.secret" = {
          format = "64 lowercase hex characters, identical on every host (`openssl rand -hex 32`)";
          origin = "vpn-bench keys";
        };
      };
    };
    yggdrasil = {
      public = { };
      private = {
        "private.key" = {
          format = "128 hex characters, the `PrivateKey` of `yggdrasil -genconf -json`";
          origin = "vpn-bench keys, else generated on the host at first start";
        };
      };
    };
    mycelium = {
      public = { };
      private = {
        "key.bin" = {
          format = "mycelium key file (binary), as written by `mycelium` at first start";
          origin = "generated on the host at first start (or copied by vpn-bench keys)";
        };
      };
    };
    headscale = {
      public = { };
      private = {
        "authkey" = {
          format = "Headscale reusable pre-auth key (one line)";
          origin = "written on the coordinator by vpn-bench-headscale-authkey.service; the harness copies it to the other hosts";
        };
      };
    };
    zerotier = {
      public = { };
      private = { };
    };
    internal = {
      public = { };
      private = { };
    };
  };

  # Files a VPN's service cannot start without (checked on the host before the daemon runs).
  requiredPrivate = {
    wireguard = [ "private.key" ];
    nebula = [ "host.key" ];
    tinc = [ "rsa_key.priv" ];
    vpncloud = [ "private.key" ];
    hyprspace = [ "private.key" ];
    easytier = [ "network.secret" ];
  };

  # Public files the evaluation needs per host (with {host} expanded) and once per site.
  requiredPublic = {
    wireguard = {
      perHost = [ "{host}.pub" ];
      once = [ ];
    };
    nebula = {
      perHost = [ "{host}.crt" ];
      once = [ "ca.crt" ];
    };
    tinc = {
      perHost = [ "{host}.pub" ];
      once = [ ];
    };
    vpncloud = {
      perHost = [ "{host}.pub" ];
      once = [ ];
    };
    hyprspace = {
      perHost = [ "{host}.id" ];
      once = [ ];
    };
  };

  privatePath = vpn: file: "${secretsDir}/${vpn}/${file}";
in
{
  inherit
    secretsDir
    contract
    requiredPrivate
    requiredPublic
    privatePath
    ;
}
