package deadline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestDeadline: Err and Done end at the deadline, whether Done is asked
// for before or after it.
func TestDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		c := New(context.Background(), 5*time.Second)
		defer c.Release()
		if at, ok := c.Deadline(); !ok || !at.Equal(start.Add(5*time.Second)) {
			t.Fatalf("deadline %v %v", at, ok)
		}
		if c.Err() != nil {
			t.Fatalf("err before the deadline: %v", c.Err())
		}
		done := c.Done()
		select {
		case <-done:
			t.Fatal("done before the deadline")
		default:
		}
		<-done
		if got := time.Since(start); got != 5*time.Second {
			t.Fatalf("done after %v", got)
		}
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("err %v", c.Err())
		}
	})
	synctest.Test(t, func(t *testing.T) {
		c := New(context.Background(), time.Second)
		defer c.Release()
		time.Sleep(2 * time.Second)
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("err without Done: %v", c.Err())
		}
		select {
		case <-c.Done():
		default:
			t.Fatal("Done asked for after the deadline is not closed")
		}
	})
}

// TestParent: the parent's end and its sooner deadline end the Context;
// values pass through.
func TestParent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type key struct{}
		parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
		c := New(parent, time.Hour)
		defer c.Release()
		if c.Value(key{}) != "v" {
			t.Fatal("value lost")
		}
		cancel()
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("err after the parent's cancel: %v", c.Err())
		}
		<-c.Done()

		short, cancel2 := context.WithTimeout(context.Background(), time.Second)
		defer cancel2()
		c2 := New(short, time.Hour)
		defer c2.Release()
		if at, _ := c2.Deadline(); !at.Equal(time.Now().Add(time.Second)) {
			t.Fatalf("deadline %v, want the parent's", at)
		}
	})
}

// TestRelease: Release stops the timer, and a Done asked for after it is
// closed at once.
func TestRelease(t *testing.T) {
	c := New(context.Background(), time.Hour)
	d := c.Done()
	c.Release()
	select {
	case <-d:
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed by Release")
	}
	c2 := New(context.Background(), time.Hour)
	c2.Release()
	if !errors.Is(c2.Err(), context.Canceled) {
		t.Fatalf("err after Release without Done: %v", c2.Err())
	}
	select {
	case <-c2.Done():
	default:
		t.Fatal("Done asked for after Release is not closed")
	}
}

// TestConcurrent: Done and Err from several goroutines (go test -race).
func TestConcurrent(t *testing.T) {
	c := New(context.Background(), 10*time.Millisecond)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			<-c.Done()
			if c.Err() == nil {
				t.Error("done without an error")
			}
		})
	}
	wg.Wait()
	c.Release()
}

func BenchmarkNewRelease(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c := New(context.Background(), 5*time.Second)
		_ = c.Err()
		c.Release()
	}
}

func BenchmarkBaselineWithTimeout(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = c.Err()
		cancel()
	}
}
