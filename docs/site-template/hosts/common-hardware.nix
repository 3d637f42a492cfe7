# Shared by hosts/<host>.nix of this example site: boot, disks and the underlay NIC. Replace
# it with your machines' hardware configuration (nixos-generate-config writes one).
{ config, lib, ... }:
let
  # This host's entry of site.toml (address, interface), loaded by the vpn-bench modules.
  me = config.vpnBench.siteData.hosts.${config.vpnBench.host};
in
{
  boot.loader.systemd-boot.enable = lib.mkDefault true;
  boot.loader.efi.canTouchEfiVariables = lib.mkDefault true;
  boot.initrd.availableKernelModules = [
    "ahci"
    "nvme"
    "xhci_pci"
    "virtio_pci"
    "virtio_blk"
  ];

  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
  };
  fileSystems."/boot" = {
    device = "/dev/disk/by-label/BOOT";
    fsType = "vfat";
    options = [ "umask=0077" ];
  };

  # The underlay: a static address on the benchmark LAN (the one in site.toml).
  networking.useDHCP = false;
  networking.interfaces.${me.interface}.ipv4.addresses = [
    {
      inherit (me) address;
      prefixLength = 24;
    }
  ];
}
