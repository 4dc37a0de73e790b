package gateway

// redactDigits replaces every run of 12 or more digits — spaces and dashes between them
// allowed, as in "4242 4242 4242 4242" — with "[redacted]". Provider-controlled text (error
// messages, codes) passes through it before it reaches a result, an error or a log: a provider
// that echoes a card number back must not make paybridge leak it.
func redactDigits(s string) string {
	var out []byte
	i := 0
	for i < len(s) {
		if s[i] < '0' || s[i] > '9' {
			if out != nil {
				out = append(out, s[i])
			}
			i++
			continue
		}
		// Measure the digit run starting at i, with single separators inside it.
		j, n, end := i, 0, i
		for j < len(s) {
			c := s[j]
			if c >= '0' && c <= '9' {
				n++
				j++
				end = j
				continue
			}
			if c == ' ' || c == '-' {
				k := j
				for k < len(s) && (s[k] == ' ' || s[k] == '-') {
					k++
				}
				if k < len(s) && s[k] >= '0' && s[k] <= '9' {
					j = k
					continue
				}
			}
			break
		}
		if n >= 12 {
			if out == nil {
				out = append([]byte{}, s[:i]...)
			}
			out = append(out, "[redacted]"...)
		} else if out != nil {
			out = append(out, s[i:end]...)
		}
		i = end
	}
	if out == nil {
		return s
	}
	return string(out)
}
