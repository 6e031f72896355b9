package sop_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/sop"
)

func TestStaffTasksOnTimeAndLate(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "vip", Trigger: sop.Trigger{Segment: "高价值"}, Steps: []sop.Step{{
		ID: "call", Action: sop.Action{Kind: sop.Task, Staff: "manager-1", Channel: scrm.ChannelWeCom,
			Template: "一对一回访", Vars: map[string]string{"script": "v2"}, Deadline: 2 * time.Hour},
	}}})
	e.publish("c1", scrm.EventSegmentEntered, map[string]any{"segment": "高价值"})
	e.publish("c2", scrm.EventSegmentEntered, map[string]any{"segment": "高价值"})
	e.publish("c3", scrm.EventSegmentEntered, map[string]any{"segment": "其他"})
	r := e.run()
	assert.Equal(t, 2, r.Sent)
	assert.Empty(t, e.rec.Messages(), "a task is not a message")

	open, err := e.svc.Tasks(e.ctx, "t1", "manager-1", sop.TaskOpen)
	require.NoError(t, err)
	require.Len(t, open, 2)
	tk := open[0]
	assert.Equal(t, scrm.CustomerID("c1"), tk.Customer)
	assert.Equal(t, "一对一回访", tk.Template)
	assert.Equal(t, "v2", tk.Vars["script"])
	assert.Equal(t, sop.JobID("t1", "vip", "c1", 1, "call"), tk.ID)
	assert.True(t, tk.DueBy.Equal(start.Add(2*time.Hour)))
	assert.False(t, tk.Late(e.clock.Now()))

	e.clock.Advance(time.Hour)
	done, err := e.svc.CompleteTask(e.ctx, "t1", open[0].ID)
	require.NoError(t, err)
	assert.Equal(t, sop.TaskDone, done.State)
	assert.True(t, done.OnTime)
	again, err := e.svc.CompleteTask(e.ctx, "t1", open[0].ID)
	require.NoError(t, err)
	assert.True(t, again.DoneAt.Equal(done.DoneAt), "completing twice keeps the first completion")

	e.clock.Advance(2 * time.Hour)
	assert.True(t, open[1].Late(e.clock.Now()))
	late, err := e.svc.CompleteTask(e.ctx, "t1", open[1].ID)
	require.NoError(t, err)
	assert.False(t, late.OnTime)

	all, err := e.svc.Tasks(e.ctx, "t1", "manager-1", "")
	require.NoError(t, err)
	assert.Len(t, all, 2)
	open, err = e.svc.Tasks(e.ctx, "t1", "manager-1", sop.TaskOpen)
	require.NoError(t, err)
	assert.Empty(t, open)

	st := stepStats(t, e, "vip")["call"]
	assert.Equal(t, int64(2), st.TasksDone)
	assert.Equal(t, int64(1), st.TasksLate)

	_, err = e.svc.CompleteTask(e.ctx, "t1", "nope")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = e.svc.Tasks(e.ctx, "t1", "manager-1", "closed")
	assert.ErrorIs(t, err, scrm.ErrInvalid)
}

func TestStatsRepliesConversionsAndReplyTypes(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{
		{ID: "s1", Action: msg(scrm.ChannelWeCom, "a")},
		{ID: "s2", After: 72 * time.Hour, Action: msg(scrm.ChannelWeCom, "b")},
	}})
	for _, c := range []scrm.CustomerID{"c1", "c2", "c3"} {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: c})
		require.NoError(t, err)
	}
	e.run() // s1 to all three at 09:00

	e.clock.Advance(47 * time.Hour)
	e.publish("c1", scrm.EventMessageReplied, map[string]any{"text": "感兴趣", "reply_type": "interested"})
	e.publish("c1", scrm.EventMessageReplied, map[string]any{"text": "again", "reply_type": "question"}) // same touch: counted once
	e.clock.Advance(2 * time.Hour)
	e.publish("c2", scrm.EventMessageReplied, map[string]any{"text": "late"}) // 49 h: too late

	e.runUntil(start.Add(73*time.Hour), time.Hour) // s2 at 09:00 on day 3
	e.publish("c3", scrm.EventOrderPaid, nil)      // within 7 days of s1 and of s2
	e.clock.Advance(5 * 24 * time.Hour)            // 8 days after s1, 5 after s2
	e.publish("c2", scrm.EventOrderPaid, nil)
	e.publish("c2", scrm.EventMessageReplied, map[string]any{"message_id": sop.JobID("t1", "p", "c2", 1, "s2"), "reply_type": "unsubscribe"})

	st := stepStats(t, e, "p")
	assert.Equal(t, int64(3), st["s1"].Sent)
	assert.Equal(t, int64(1), st["s1"].Replied)
	assert.Equal(t, map[string]int64{"interested": 1}, st["s1"].ReplyTypes)
	assert.Equal(t, int64(1), st["s1"].Converted, "c3 only; c2's order is 8 days after s1")
	assert.Equal(t, int64(2), st["s2"].Converted, "c3 and c2")
	assert.Equal(t, int64(0), st["s2"].Replied, "c2's reply to s2 came 5 days later")
	assert.Equal(t, int64(3), st["s2"].Enrolled)
}
