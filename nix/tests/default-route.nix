# A default route for the test VMs: vpncloud panics without one (it finds its own address by
# routing; modules/vpns/vpncloud.nix), and the driver's network gives the nodes none. An
# on-link route on the test VLAN (no gateway; nothing leaves the VLAN anyway).
{ ... }:
{
  networking.interfaces.eth1.ipv4.routes = [
    {
      address = "0.0.0.0";
      prefixLength = 0;
    }
  ];
}
