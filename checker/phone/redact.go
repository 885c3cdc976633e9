package phone

import "strings"

// Redact returns a form of a phone number safe for logs and error
// messages: the country code (when the input is E.164) and the last two
// digits, e.g. "+44…23". A redacted form is not unique; it lets a person
// recognise their own number without revealing it to others.
func Redact(s string) string {
	var digits []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits = append(digits, s[i])
		}
	}
	last := "??"
	if len(digits) >= 2 {
		last = string(digits[len(digits)-2:])
	}
	if strings.HasPrefix(s, "+") && len(digits) > 4 {
		if cc := countryCodeOf(string(digits)); cc != "" {
			return "+" + cc + "…" + last
		}
	}
	return "…" + last
}
