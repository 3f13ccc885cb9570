package hub

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// The node listing is the API's hot path: dashboards poll it, and with
// 10,000 nodes encoding it by reflection took most of the time of a
// request. appendNodeView writes the same JSON as encoding/json would for
// nodeView, by hand, into a pooled buffer.

var listBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// writeNodeList writes the views of all as a JSON array, rendering each
// row straight into one pooled buffer.
func writeNodeList(w http.ResponseWriter, all []snapshot, view func(*snapshot) nodeView) {
	bp := listBufs.Get().(*[]byte)
	b := append((*bp)[:0], '[')
	for i := range all {
		if i > 0 {
			b = append(b, ',')
		}
		v := view(&all[i])
		b = appendNodeView(b, &v)
	}
	b = append(b, ']', '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	if cap(b) <= 16<<20 { // do not keep a buffer of an extreme fleet
		*bp = b
		listBufs.Put(bp)
	}
}

// appendNodeView appends v as a JSON object, with the fields, names and
// omissions of nodeView's JSON tags.
func appendNodeView(b []byte, v *nodeView) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, v.ID)
	b = append(b, `,"region":`...)
	b = appendString(b, v.Region)
	if v.Address != "" {
		b = append(b, `,"address":`...)
		b = appendString(b, v.Address)
	}
	b = append(b, `,"status":`...)
	b = appendString(b, v.Status)
	b = append(b, `,"healthy":`...)
	b = strconv.AppendBool(b, v.Healthy)
	b = append(b, `,"liveness":`...)
	b = appendString(b, v.Liveness)
	if v.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendString(b, v.Reason)
	}
	b = append(b, `,"last_heartbeat":"`...)
	b = v.LastHeartbeat.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","heartbeat_age_seconds":`...)
	b = appendFloat(b, v.HeartbeatAge)
	b = append(b, `,"flapping":`...)
	b = strconv.AppendBool(b, v.Flapping)
	b = append(b, `,"sync":{"local_version":`...)
	b = strconv.AppendInt(b, v.Sync.LocalVersion, 10)
	b = append(b, `,"remote_version":`...)
	b = strconv.AppendInt(b, v.Sync.RemoteVersion, 10)
	b = append(b, `,"pending":`...)
	b = strconv.AppendInt(b, int64(v.Sync.Pending), 10)
	b = append(b, `},"state_version":`...)
	b = strconv.AppendInt(b, v.StateVersion, 10)
	return append(b, '}')
}

// appendString appends s as a JSON string. Plain printable ASCII, which is
// what node IDs, regions and addresses are, is copied as is; anything else
// goes through encoding/json, so escaping is exactly its own.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendFloat appends f as encoding/json formats a float64.
func appendFloat(b []byte, f float64) []byte {
	if abs := math.Abs(f); math.IsInf(f, 0) || math.IsNaN(f) || abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		q, err := json.Marshal(f)
		if err != nil {
			return append(b, '0')
		}
		return append(b, q...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}
