package main

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// watchMemory makes the garbage collector keep the heap under limit bytes
// where it can, and returns a channel that is closed once the process
// holds more than it can free: a live heap past nine tenths of limit
// after a collection, or memory held from the system (mapped, less what
// was given back) past half as much again as limit: the collector fell
// behind. Polling costs no stop of the world: runtime/metrics reads
// counters.
func watchMemory(limit int64) <-chan struct{} {
	debug.SetMemoryLimit(limit)
	outgrown := make(chan struct{})
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	go func() {
		for range time.Tick(20 * time.Millisecond) {
			metrics.Read(samples)
			live, total, released := samples[0].Value, samples[1].Value, samples[2].Value
			if live.Kind() == metrics.KindUint64 && live.Uint64() > uint64(limit)/10*9 ||
				total.Kind() == metrics.KindUint64 && released.Kind() == metrics.KindUint64 &&
					total.Uint64()-released.Uint64() > uint64(limit)/2*3 {
				close(outgrown)
				return
			}
		}
	}()
	return outgrown
}
