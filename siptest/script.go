package siptest

import (
	"fmt"
	"time"

	"github.com/paybridge/paybridge/dtmf"
)

// ScriptStep is one step of a digit script: a key to press, a pause, or a wait to be told to
// go on.
type ScriptStep struct {
	Digit dtmf.Digit    // 0 for a pause or a wait
	Pause time.Duration // for a pause
	Wait  bool          // '|': wait for CallerConfig.Proceed
}

// ParseDigitScript reads the --digits syntax shared by `paybridge call` and `replay`: the keys
// 0-9 * # A-D, 'w' for a 0.5 s pause, 'W' for a 1 s pause and '|' to wait until told to go
// on (CallerConfig.Proceed; a line on standard input for `paybridge call`). Spaces, '-' and '.' are
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
		case '|':
			out = append(out, ScriptStep{Wait: true})
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
