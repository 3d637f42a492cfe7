package afpacket

const (
	sysRecvmmsg = 243
	sysSendmmsg = 269
	sysPpoll    = 73
	sysEventfd2 = 19
)
