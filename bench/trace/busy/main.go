// Command busy writes a runtime trace of a scheduler-heavy program (channel ping-pong,
// allocation, timers) for the given duration: the input of bench/trace.
package main

import (
	"os"
	"runtime"
	"runtime/trace"
	"sync"
	"time"
)

func main() {
	d, err := time.ParseDuration(os.Args[2])
	if err != nil {
		panic(err)
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := trace.Start(f); err != nil {
		panic(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		a, b := make(chan int), make(chan int)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					close(a)
					return
				case a <- 1:
				}
				<-b
			}
		}()
		go func() {
			defer wg.Done()
			var keep [][]byte
			for range a {
				keep = append(keep, make([]byte, 256))
				if len(keep) > 1000 {
					keep = keep[:0]
				}
				b <- 1
			}
		}()
	}
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					runtime.Gosched()
				}
			}
		}()
	}
	time.Sleep(d)
	close(stop)
	wg.Wait()
	trace.Stop()
	f.Close()
}
