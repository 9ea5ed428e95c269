package labkit

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// helperEnv names the helper a lab command runs this binary as (in a node's or the client's
// namespaces): the test binary or test/labctl, whichever drives the lab, calls
// RunHelperIfAsked first thing.
const helperEnv = "LABKIT_HELPER"

var helpers = map[string]func(T){
	"vip-writer":    vipWriterHelper,
	"bench-monitor": benchMonitorHelper,
}

// RunHelperIfAsked runs the helper LABKIT_HELPER names, if any, and exits with its verdict.
func RunHelperIfAsked() {
	name := os.Getenv(helperEnv)
	if name == "" {
		return
	}
	helper, ok := helpers[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "%s=%q: no such lab helper\n", helperEnv, name)
		os.Exit(2)
	}
	os.Exit(Main(name, helper))
}

// vipWriterHelper is the helper labSession.writeUntil runs in the lab's client namespace. It
// starts a connection attempt to the VIP every 50 ms (each bounded to a second) until one
// lands on the wanted node and its insert commits, then prints that node. Only one connected
// attempt at a time tries the insert, so one row is written.
func vipWriterHelper(t T) {
	note, addr := os.Getenv("LAB_VIP_WRITER_NOTE"), os.Getenv("LAB_VIP_WRITER_ADDR")
	want := os.Getenv("LAB_VIP_WRITER_WANT")
	timeout, err := time.ParseDuration(os.Getenv("LAB_VIP_WRITER_TIMEOUT"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	accepted := make(chan string, 1)
	var inserting sync.Mutex
	attempt := func() {
		actx, acancel := context.WithTimeout(ctx, time.Second)
		defer acancel()
		conn, err := pgx.Connect(actx, fmt.Sprintf("host=%s user=postgres dbname=postgres sslmode=disable", addr))
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		var node string
		if err := conn.QueryRow(actx, "select "+labHostnameSQL).Scan(&node); err != nil || (want != "" && node != want) {
			return
		}
		inserting.Lock()
		defer inserting.Unlock()
		if ctx.Err() != nil || len(accepted) > 0 {
			return
		}
		if _, err := conn.Exec(actx, "insert into lab_rows(note) values ($1)", note); err == nil {
			accepted <- node
			cancel()
		}
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case node := <-accepted:
			fmt.Printf("vip-writer: accepted by %s\n", node)
			return
		case <-ctx.Done():
			select {
			case node := <-accepted:
				fmt.Printf("vip-writer: accepted by %s\n", node)
			default:
				fmt.Println("vip-writer: no write accepted")
			}
			return
		case <-tick.C:
			go attempt()
		}
	}
}
