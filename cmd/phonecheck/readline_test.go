package main

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

func TestReadLine(t *testing.T) {
	long := strings.Repeat("9", maxLine+10)
	r := bufio.NewReaderSize(strings.NewReader("a\r\n"+long+"\nb\nc"), 4096)
	var got []string
	for {
		line, err := readLine(r)
		if err == errLineTooLong {
			got = append(got, "<long>")
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
	}
	if want := "a <long> b c"; strings.Join(got, " ") != want {
		t.Errorf("lines = %q, want %q", strings.Join(got, " "), want)
	}
}
