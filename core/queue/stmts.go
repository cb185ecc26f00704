package queue

import (
	"context"
	"database/sql"
	"strconv"
)

// Statements of the drain's hot path are prepared once per connection
// rather than parsed again in every transaction: Tx.ExecContext with a
// query string prepares it anew each time (a 500-element IN list or a
// 250-row VALUES costs SQLite's parser ~0.3 ms). A statement prepared on
// the *sql.DB and bound to a transaction with Tx.StmtContext is prepared on
// the transaction's connection the first time only (database/sql keeps
// one driver statement per connection); one prepared on a *sql.Conn would
// be prepared again in every transaction.

// prepared returns query prepared for tx's connection.
func (q *Queue) prepared(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	q.stmtMu.Lock()
	s := q.stmts[query]
	if s == nil {
		var err error
		s, err = q.db.PrepareContext(ctx, query)
		if err != nil {
			q.stmtMu.Unlock()
			return nil, err
		}
		if q.stmts == nil {
			q.stmts = make(map[string]*sql.Stmt)
		}
		q.stmts[query] = s
	}
	q.stmtMu.Unlock()
	return tx.StmtContext(ctx, s), nil
}

// closeStmts closes the prepared statements (before the database).
func (q *Queue) closeStmts() {
	q.stmtMu.Lock()
	defer q.stmtMu.Unlock()
	for _, s := range q.stmts {
		s.Close()
	}
	q.stmts = nil
}

// jsonInts is ids as a JSON array, the argument of a json_each(?) that
// lets one prepared statement take any number of row ids.
func jsonInts(ids []int64) string {
	b := make([]byte, 0, 2+len(ids)*8)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}
