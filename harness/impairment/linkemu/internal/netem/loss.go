package netem

// LossModel selects how loss_event() decides a drop.
type LossModel int

// Loss models, as the kernel's CLG_* constants.
const (
	LossRandom  LossModel = iota // Bernoulli with optional correlation
	LossState                    // 4-state Markov chain ("loss state")
	LossGemodel                  // Gilbert-Elliott ("loss gemodel")
)

// States of the 4-state model (kernel numbering).
const (
	TxInGap     = 1 // transmitted, gap period
	TxInBurst   = 2 // transmitted, burst period
	LostInGap   = 3 // isolated loss (the kernel's LOST_IN_GAP_PERIOD)
	LostInBurst = 4 // loss within a burst
)

// States of the Gilbert-Elliott model.
const (
	GoodState = 1
	BadState  = 2
)

// LossParams holds the scaled (0..2^32-1) probabilities of the loss model.
// For LossState: P13, P31, P32, P14, P23. For LossGemodel: P (good->bad),
// R (bad->good), H (the kernel's h = 1 - loss-in-bad), K1 (loss-in-good).
type LossParams struct {
	Model LossModel
	// LossRandom
	Probability uint32
	Correlation uint32
	// LossState
	P13, P31, P32, P14, P23 uint32
	// LossGemodel
	P, R, H, K1 uint32
}

// lossState is the mutable part of a loss generator.
type lossState struct {
	params LossParams
	state  uint8
	cor    Correlated
}

func newLossState(p LossParams, initialLast uint32) lossState {
	ls := lossState{params: p, cor: Correlated{Rho: p.Correlation, Last: initialLast}}
	switch p.Model {
	case LossState:
		ls.state = TxInGap
	case LossGemodel:
		ls.state = GoodState
	}
	return ls
}

// event reports whether the next packet is lost (loss_event()).
func (ls *lossState) event(src Source) bool {
	switch ls.params.Model {
	case LossState:
		return ls.fourState(src)
	case LossGemodel:
		return ls.gilbertElliott(src)
	default:
		p := ls.params.Probability
		return p != 0 && p >= ls.cor.Next(src)
	}
}

// below compares a draw with a sum of two scaled probabilities without the
// kernel's u32 wrap-around (the sums are validated to be <= 1 anyway).
func below(rnd, a, b uint32) bool {
	return uint64(rnd) < uint64(a)+uint64(b)
}

// fourState is loss_4state(): one draw per packet decides the transition
// out of the current state, and the state entered decides the fate.
func (ls *lossState) fourState(src Source) bool {
	p := &ls.params
	rnd := src.Uint32()
	switch ls.state {
	case TxInGap:
		if rnd < p.P14 {
			ls.state = LostInGap
			return true
		}
		if below(rnd, p.P13, p.P14) {
			ls.state = LostInBurst
			return true
		}
		ls.state = TxInGap
	case TxInBurst:
		if rnd < p.P23 {
			ls.state = LostInBurst
			return true
		}
		ls.state = TxInBurst
	case LostInBurst:
		if rnd < p.P32 {
			ls.state = TxInBurst
		} else if below(rnd, p.P31, p.P32) {
			ls.state = TxInGap
		} else {
			ls.state = LostInBurst
			return true
		}
	case LostInGap:
		ls.state = TxInGap
	}
	return false
}

// gilbertElliott is loss_gilb_ell(): one draw decides the state transition,
// a second decides the loss with the loss probability of the state the
// packet started in (the kernel tests the old state's branch), so a packet
// that triggers good->bad is still judged by the good state's 1-k.
func (ls *lossState) gilbertElliott(src Source) bool {
	p := &ls.params
	switch ls.state {
	case GoodState:
		if src.Uint32() < p.P {
			ls.state = BadState
		}
		return src.Uint32() < p.K1
	case BadState:
		if src.Uint32() < p.R {
			ls.state = GoodState
		}
		return src.Uint32() > p.H
	}
	return false
}
