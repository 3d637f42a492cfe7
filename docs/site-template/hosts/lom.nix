# Hardware of lom. Everything that differs from hosts/common-hardware.nix goes here
# (disk labels, kernel modules, a different NIC, a default gateway for SSH from outside...).
{
  imports = [ ./common-hardware.nix ];
}
