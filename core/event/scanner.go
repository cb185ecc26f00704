package event

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/spec-kitty/spec-kitty-sync/core/jsonscan"
)

// Scanner reads the complete lines of an events file from a byte offset, so
// an importer can resume where its cursor stopped.
//
// A last line without a newline is taken only when it already is a complete
// JSON value (a writer that is mid-append leaves an incomplete one); otherwise
// it is left for the next scan and Offset stays before it. Blank lines are
// skipped. Malformed lines are reported and passed over; they never stop the
// scan.
type Scanner struct {
	r       *bufio.Reader
	file    string
	mission string // missionFromPath(file), once per file
	offset  int64  // just after the last line handed out (or skipped)
	number  int    // number of the last line consumed
	borrow  bool   // Raw aliases the read buffers (Borrow)

	line  Line
	err   error // parse error of the current line
	ioErr error
	done  bool // stopped before an unterminated tail: the reader is past it
	buf   []byte
}

// NewScanner scans r, which must be positioned at offset, where line number
// `line` is the last one already consumed (0 at the start of the file).
func NewScanner(r io.Reader, file string, offset int64, line int) *Scanner {
	s := &Scanner{r: bufio.NewReaderSize(r, 64<<10)}
	s.Reset(r, file, offset, line)
	return s
}

// Reset makes s scan r as NewScanner(r, file, offset, line) would, reusing
// its buffers: one Scanner reads every file of an import.
func (s *Scanner) Reset(r io.Reader, file string, offset int64, line int) {
	s.r.Reset(r)
	*s = Scanner{r: s.r, file: file, mission: missionFromPath(file), offset: offset, number: line,
		borrow: s.borrow, buf: s.buf[:0]}
}

// Borrow makes the Raw of the lines s hands out alias its read buffers
// instead of a copy of each line: valid only until the next Scan or Reset.
// For a caller that is done with a line (e.g. has built its envelope)
// before it scans on.
func (s *Scanner) Borrow() { s.borrow = true }

// Scan advances to the next non-blank line. It returns false at the end of
// the complete lines or on a read error (see Err).
func (s *Scanner) Scan() bool {
	for s.ioErr == nil && !s.done {
		raw, complete, tooLong, n, err := s.readLine()
		if err != nil && !errors.Is(err, io.EOF) {
			s.ioErr = fmt.Errorf("read %s: %w", s.file, err)
			return false
		}
		if n == 0 {
			return false
		}
		if !complete {
			// Unterminated tail: take it only if it is whole already.
			trimmed := bytes.Trim(raw, " \t\r\n")
			if tooLong || len(trimmed) == 0 || !jsonscan.Std.Valid(trimmed) {
				s.done = true
				return false
			}
		}
		s.offset += int64(n)
		s.number++
		if tooLong {
			s.line = Line{File: s.file, Number: s.number, Mission: s.mission}
			s.err = &LineError{File: s.file, Line: s.number, Err: fmt.Errorf("line longer than %d bytes", MaxLineBytes)}
			return true
		}
		if len(bytes.Trim(raw, " \t\r\n")) == 0 {
			continue
		}
		if !s.borrow {
			raw = bytes.Clone(raw)
		}
		s.line, s.err = parseLine(s.file, s.mission, s.number, raw)
		if s.err != nil {
			s.line.Mission = s.mission
		}
		return true
	}
	return false
}

// readLine reads one line. complete is false at EOF without a newline. A line
// longer than MaxLineBytes is consumed but not kept (tooLong). n is the number
// of bytes consumed, terminator included. raw is valid until the next read:
// a line that fits the read buffer is not copied.
func (s *Scanner) readLine() (raw []byte, complete, tooLong bool, n int, err error) {
	s.buf = s.buf[:0]
	for {
		chunk, err := s.r.ReadSlice('\n')
		if n == 0 && err == nil && len(chunk) <= MaxLineBytes+2 {
			return chunk, true, false, len(chunk), nil
		}
		n += len(chunk)
		if !tooLong {
			if len(s.buf)+len(chunk) > MaxLineBytes+2 { // room for "\r\n"
				tooLong = true
				s.buf = s.buf[:0]
			} else {
				s.buf = append(s.buf, chunk...)
			}
		}
		switch {
		case err == nil:
			return s.buf, true, tooLong, n, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return s.buf, false, tooLong, n, err
		}
	}
}

// Line is the current line and its parse error (a *LineError).
func (s *Scanner) Line() (Line, error) { return s.line, s.err }

// Err is the read error that stopped the scan, if any.
func (s *Scanner) Err() error { return s.ioErr }

// Offset is the byte offset just after the last consumed line: where the
// next scan resumes.
func (s *Scanner) Offset() int64 { return s.offset }

// Number is the number of the last consumed line.
func (s *Scanner) Number() int { return s.number }
