// Command busy writes a runtime trace of a scheduler-heavy program for the given duration:
// the input of bench/trace.
//
//	busy TRACE DURATION          # channel ping-pong, allocation, Gosched
//	busy TRACE DURATION spawn    # a goroutine per work item (JSON round trips), as servers do
package main

import (
	"encoding/json"
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
	if len(os.Args) > 3 && os.Args[3] == "spawn" {
		spawn(stop, &wg)
	} else {
		pingPong(stop, &wg)
	}
	time.Sleep(d)
	close(stop)
	wg.Wait()
	trace.Stop()
	f.Close()
}

// pingPong: 16 pairs of goroutines hand a token back and forth (one allocates), and 4
// goroutines yield in a loop.
func pingPong(stop chan struct{}, wg *sync.WaitGroup) {
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
		untilStopped(stop, wg, runtime.Gosched)
	}
}

// untilStopped runs body in a loop on a new goroutine until stop is closed.
func untilStopped(stop chan struct{}, wg *sync.WaitGroup, body func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				body()
			}
		}
	}()
}

type item struct {
	Name string
	Vals []int
	Tags map[string]float64
}

// spawn: 8 workers each start one goroutine per item and wait for it to finish.
func spawn(stop chan struct{}, wg *sync.WaitGroup) {
	for i := 0; i < 8; i++ {
		untilStopped(stop, wg, func() {
			done := make(chan struct{})
			go func() {
				defer close(done)
				b, _ := json.Marshal(item{Name: "x", Vals: make([]int, 64), Tags: map[string]float64{"a": 1}})
				var back item
				_ = json.Unmarshal(b, &back)
			}()
			<-done
		})
	}
}
