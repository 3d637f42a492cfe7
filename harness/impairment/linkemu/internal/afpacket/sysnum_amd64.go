package afpacket

const (
	sysRecvmmsg = 299
	sysSendmmsg = 307
	sysPpoll    = 271
	sysEventfd2 = 290
)
