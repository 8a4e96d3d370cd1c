// Package retry holds the one backoff and the one wait used between
// attempts at a remote operation (a registry request, a push that lost a
// race). Its guarantee: a wait never outlives its context, and waits grow
// exponentially to a bound, jittered so that concurrent clients spread out.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is the wait after the given failed attempt (counted from 1):
// initial, doubled for each attempt after the first, up to limit, then
// jittered uniformly within ±50%. An initial wait above limit is taken as
// given, and not doubled.
func Backoff(initial, limit time.Duration, attempt int) time.Duration {
	limit = max(limit, initial)
	d := initial
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

// Sleep waits for d, or until ctx is done and then returns ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
