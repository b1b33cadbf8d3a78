package simulator

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// listParams are the cursor pagination parameters shared by list calls.
type listParams struct {
	after string
	limit int
	asc   bool
}

func parseListParams(q url.Values, defLimit, maxLimit int) (listParams, error) {
	p := listParams{after: q.Get("after"), limit: defLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return p, fmt.Errorf("limit must be an integer between 1 and %d", maxLimit)
		}
		p.limit = n
	}
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		p.asc = true
	default:
		return p, fmt.Errorf("order must be asc or desc")
	}
	return p, nil
}

// sortByCreation orders newest first by creation time (ties by id) so
// pagination is stable; asc reverses it.
func sortByCreation[T any](items []T, created func(T) time.Time, id func(T) string, asc bool) {
	slices.SortFunc(items, func(a, b T) int {
		c := created(a).Compare(created(b))
		if c == 0 {
			c = cmp.Compare(id(a), id(b))
		}
		if asc {
			return c
		}
		return -c
	})
}

// page returns the items after the cursor, at most limit of them.
func page[T any](items []T, id func(T) string, p listParams) ([]T, bool, error) {
	start := 0
	if p.after != "" {
		i := slices.IndexFunc(items, func(t T) bool { return id(t) == p.after })
		if i < 0 {
			return nil, false, fmt.Errorf("after: %s is not a known id", p.after)
		}
		start = i + 1
	}
	rest := items[start:]
	if len(rest) > p.limit {
		return rest[:p.limit], true, nil
	}
	return rest, false, nil
}

func newList[T any](data []T, id func(T) string, hasMore bool) apiList[T] {
	l := apiList[T]{Object: "list", Data: data, HasMore: hasMore}
	if l.Data == nil {
		l.Data = []T{}
	}
	if len(data) > 0 {
		first, last := id(data[0]), id(data[len(data)-1])
		l.FirstID, l.LastID = &first, &last
	}
	return l
}
