package audittest

import "encoding/json"

// JSONFields reads a JSON record's "fields" object with every value as its
// text: numbers (pid, count, duration in seconds) as they are written, so
// that a test can check both the value and that it was not a string.
type JSONFields map[string]string

// UnmarshalJSON decodes an object of strings and numbers into f.
func (f *JSONFields) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*f = JSONFields{}
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v)
		}
		(*f)[k] = s
	}
	return nil
}
