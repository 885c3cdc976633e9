package phone

import "github.com/nyaruka/phonenumbers"

// Description is how a number reads to the person it belongs to: what a
// check shows before anything is sent, so that they can see the number
// was understood.
type Description struct {
	// International is the number in international format, grouped as
	// its country writes it: "+20 100 123 4567".
	International string
	// Type is the kind of line the library's metadata gives the number's
	// range: "mobile", "fixed_line", "fixed_line_or_mobile", "toll_free",
	// "premium_rate", "shared_cost", "voip", "personal_number", "pager",
	// "uan", "voicemail", or "unknown".
	Type string
}

var typeNames = map[phonenumbers.PhoneNumberType]string{
	phonenumbers.FIXED_LINE:           "fixed_line",
	phonenumbers.MOBILE:               "mobile",
	phonenumbers.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
	phonenumbers.TOLL_FREE:            "toll_free",
	phonenumbers.PREMIUM_RATE:         "premium_rate",
	phonenumbers.SHARED_COST:          "shared_cost",
	phonenumbers.VOIP:                 "voip",
	phonenumbers.PERSONAL_NUMBER:      "personal_number",
	phonenumbers.PAGER:                "pager",
	phonenumbers.UAN:                  "uan",
	phonenumbers.VOICEMAIL:            "voicemail",
}

// Describe returns the description of n, a number [Normalize] returned.
func Describe(n Number) Description {
	pn, err := phonenumbers.Parse(n.E164, "")
	if err != nil {
		// Not from Normalize: show it as it is.
		return Description{International: n.E164, Type: "unknown"}
	}
	t, ok := typeNames[phonenumbers.GetNumberType(pn)]
	if !ok {
		t = "unknown"
	}
	return Description{International: phonenumbers.Format(pn, phonenumbers.INTERNATIONAL), Type: t}
}
