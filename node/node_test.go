package node

import "testing"

func TestStatusValid(t *testing.T) {
	tests := []struct {
		s            Status
		valid, serve bool
	}{
		{Online, true, true},
		{Degraded, true, true},
		{Offline, true, false},
		{Maintenance, true, false},
		{"", false, false},
		{"ONLINE", false, false},
	}
	for _, tt := range tests {
		if got := tt.s.Valid(); got != tt.valid {
			t.Errorf("Status(%q).Valid() = %v, want %v", tt.s, got, tt.valid)
		}
		if got := tt.s.Serving(); got != tt.serve {
			t.Errorf("Status(%q).Serving() = %v, want %v", tt.s, got, tt.serve)
		}
	}
}

func TestCloneDoesNotShareLabels(t *testing.T) {
	n := Node{ID: "a", Labels: map[string]string{"tier": "gold"}}
	c := n.Clone()
	c.Labels["tier"] = "silver"
	if n.Labels["tier"] != "gold" {
		t.Fatalf("mutating the clone changed the original: %v", n.Labels)
	}
	if (Node{}).Clone().Labels != nil {
		t.Fatal("Clone of a nil Labels map should stay nil")
	}
}
