package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The quickstart's story must stay true: one merge, and each rule matching
// the customer it was written for.
func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	s := out.String()
	for _, want := range []string{
		"event: C002 merged into C001",
		"Get(C002) now returns C001 with 2 identities",
		"- C001 李雷 (上海): orders 3, spent ¥385.00",
		"matches: 高价值复购 (repeat buyer, high value)\n- C003",
		"matches: 沪杭新客待转化 (new lead in 上海/杭州, no order yet)\n- C004",
		"matches: 沉睡预警 (no order for 30 days)\n",
		"true  event page.viewed within 1w count >= 1 (observed 1)",
	} {
		assert.Contains(t, s, want)
	}
	assert.NotContains(t, s, "13800138000", "phone numbers are masked")
}
