package cnfxml

// Suffix ends every configuration file name.
const Suffix = ".cnf.xml"

// ValidDeviceName reports whether name can be a device name: 1 to 64
// letters, digits, '-', '_' or '.', starting with a letter or digit.
// Unified CM's names (SEP<MAC>, CSF<user>, BOT..., TCT..., TAB...) are.
func ValidDeviceName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '_' && c != '.') {
			return false
		}
	}
	return true
}
