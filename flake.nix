{
  description = "vpn-bench: reproducible benchmarks of VPNs and P2P mesh overlays on lom, yuki and luna";

  # nixos-25.11 at a revision whose lock entry several independent public lock files agree on
  # (the narHash was not re-computed here; see docs/nix.md).
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      # Builtins only up to here, so the output structure evaluates without nixpkgs (CI does).
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: builtins.listToAttrs (map (system: { name = system; value = f system; }) systems);

      pkgsFor =
        system:
        import nixpkgs {
          inherit system;
          # The VPN daemons at the versions of vpn-configs/versions.toml.
          overlays = [ (import ./nix/packages/versions.nix) ];
          # Only the ZeroTier network controller build (zerotierone with enableUnfree).
          config.allowUnfreePredicate = pkg: builtins.elem (nixpkgs.lib.getName pkg) [ "zerotierone" ];
        };

      packagesFor = system: import ./nix/packages { pkgs = pkgsFor system; };

      vpbLib = import ./modules/lib;
    in
    {
      # Pure helpers (vpn-configs reader, address plans, site reader, key-material contract)
      # and mkHosts for your own site: `vpn-bench.lib.mkHosts { site = ./.; }`.
      lib = vpbLib // {
        mkHosts = import ./nix/hosts.nix { inherit nixpkgs self; };
      };

      nixosModules = import ./modules;

      # Evaluates with the example site (public keys only); build your own with lib.mkHosts.
      nixosConfigurations = self.lib.mkHosts { site = ./docs/site-template; };

      packages = forAllSystems (
        system:
        let
          all = packagesFor system;
        in
        {
          inherit (all)
            default
            vpn-bench
            vpncloud
            vpb-linkemu
            vpb-quic
            vpn-bench-tools
            ;
        }
      );

      apps = forAllSystems (
        system:
        import ./nix/apps.nix {
          packages = packagesFor system;
          pkgs = pkgsFor system;
          benchVm = self.checks.${system}.bench-vm;
        }
      );

      checks = forAllSystems (
        system:
        import ./nix/checks {
          pkgs = pkgsFor system;
          inherit self;
          packages = packagesFor system;
        }
      );

      devShells = forAllSystems (system: {
        default = import ./nix/devshell.nix {
          pkgs = pkgsFor system;
          packages = packagesFor system;
        };
      });

      # `nix fmt`: nixfmt (RFC style) over the whole tree.
      formatter = forAllSystems (system: (pkgsFor system).nixfmt-tree);

      templates.site = {
        path = ./docs/site-template;
        description = "A vpn-bench site: site.toml, hardware per host, public keys (docs/nix.md)";
      };
      templates.default = self.templates.site;
    };
}
