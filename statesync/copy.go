package statesync

// cloneMap returns a deep copy of m for the JSON-shaped values state holds:
// nested map[string]any and []any are copied recursively, so neither the
// caller nor the Synchronizer can change the other's data through them.
// Other values (strings, numbers, pointers, structs) are copied as Go copies
// them: a pointer still points to the same thing. A nil map stays nil.
func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneMap(v)
	case []any:
		if v == nil {
			return v
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneValue(e)
		}
		return out
	case []string:
		return append([]string(nil), v...)
	case map[string]string:
		out := make(map[string]string, len(v))
		for k, s := range v {
			out[k] = s
		}
		return out
	}
	return v
}

// mergeInto sets every key of src in dst (deep-copying the values).
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		dst[k] = cloneValue(v)
	}
}
