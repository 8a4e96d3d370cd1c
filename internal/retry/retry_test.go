package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		initial, limit time.Duration
		attempt        int
		base           time.Duration
	}{
		{100 * time.Millisecond, 10 * time.Second, 1, 100 * time.Millisecond},
		{100 * time.Millisecond, 10 * time.Second, 2, 200 * time.Millisecond},
		{100 * time.Millisecond, 10 * time.Second, 3, 400 * time.Millisecond},
		{100 * time.Millisecond, 10 * time.Second, 10, 10 * time.Second},
		{100 * time.Millisecond, 10 * time.Second, 100, 10 * time.Second},
		{250 * time.Millisecond, 5 * time.Second, 6, 5 * time.Second},
		// An initial wait above the limit is taken as given.
		{time.Minute, 10 * time.Second, 1, time.Minute},
		{time.Minute, 10 * time.Second, 3, time.Minute},
		{0, 10 * time.Second, 3, 0},
	} {
		for range 20 {
			if d := Backoff(tc.initial, tc.limit, tc.attempt); d < tc.base/2 || d > tc.base*3/2 || (tc.base > 0 && d == tc.base*3/2) {
				t.Errorf("Backoff(%s, %s, %d) = %s, want within ±50%% of %s", tc.initial, tc.limit, tc.attempt, d, tc.base)
			}
		}
	}
}

func TestSleep(t *testing.T) {
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a canceled context = %v, want context.Canceled", err)
	}
	if time.Since(start) > time.Minute {
		t.Fatal("Sleep outlived its context")
	}
}
