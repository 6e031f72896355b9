package member

import (
	"strconv"
	"strings"

	"github.com/scrmkit/scrmkit/scrm"
)

// idxKey is a key of a skipIndex, as listing cursors carry it.
type idxKey struct {
	at int64 // UnixNano
	c  scrm.CustomerID
}

func idxCursor(k idxKey) string {
	return strconv.FormatInt(k.at, 10) + "." + string(k.c)
}

func parseIdxCursor(s string) (idxKey, error) {
	at, c, ok := strings.Cut(s, ".")
	if !ok {
		return idxKey{}, strconv.ErrSyntax
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return idxKey{}, err
	}
	return idxKey{at: n, c: scrm.CustomerID(c)}, nil
}
