package siptest

import (
	"fmt"
	"time"

	"github.com/paybridge/paybridge/dtmf"
)

// ScriptStep is one step of a digit script: a key to press, or a pause.
type ScriptStep struct {
	Digit dtmf.Digit    // 0 for a pause
	Pause time.Duration // for a pause
}

// ParseDigitScript reads the --digits syntax shared by `paybridge call` and `replay`: the keys
// 0-9 * # A-D, 'w' for a 0.5 s pause and 'W' for a 1 s pause. Spaces, '-' and '.' are
// separators for readability. The error names the position, never the key.
func ParseDigitScript(s string) ([]ScriptStep, error) {
	var out []ScriptStep
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case 'w':
			out = append(out, ScriptStep{Pause: 500 * time.Millisecond})
		case 'W':
			out = append(out, ScriptStep{Pause: time.Second})
		case ' ', '-', '.':
		default:
			d, ok := dtmf.ParseDigit(c)
			if !ok {
				return nil, fmt.Errorf("siptest: digit script: character %d is not a key, w or W", i+1)
			}
			out = append(out, ScriptStep{Digit: d})
		}
	}
	return out, nil
}
