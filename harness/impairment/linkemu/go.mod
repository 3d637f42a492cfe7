module vpnbench/linkemu

go 1.22
