package netem

// entry is one queued packet with its netem time_to_send.
type entry[T any] struct {
	tts  int64
	seq  uint64 // arrival order, breaks ties so equal times stay FIFO
	size int
	item T
}

func (e *entry[T]) before(o *entry[T]) bool {
	if e.tts != o.tts {
		return e.tts < o.tts
	}
	return e.seq < o.seq
}

// tfifo orders packets by time_to_send like netem's rbtree (ties in arrival
// order); a binary heap gives the same dequeue order.
type tfifo[T any] struct {
	h []entry[T]
}

func (q *tfifo[T]) Len() int { return len(q.h) }

func (q *tfifo[T]) push(e entry[T]) {
	q.h = append(q.h, e)
	i := len(q.h) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !q.h[i].before(&q.h[parent]) {
			break
		}
		q.h[i], q.h[parent] = q.h[parent], q.h[i]
		i = parent
	}
}

func (q *tfifo[T]) peek() *entry[T] { return &q.h[0] }

func (q *tfifo[T]) pop() entry[T] {
	top := q.h[0]
	last := len(q.h) - 1
	q.h[0] = q.h[last]
	var zero entry[T]
	q.h[last] = zero
	q.h = q.h[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(q.h) && q.h[l].before(&q.h[m]) {
			m = l
		}
		if r < len(q.h) && q.h[r].before(&q.h[m]) {
			m = r
		}
		if m == i {
			break
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
	return top
}
