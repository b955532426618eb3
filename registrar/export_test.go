package registrar

// The internal tests' helpers that the external tests share: those that
// drive a registrar through a backend package (redisstore), which
// imports this one.
type WireRegister = wireRegister

const Node = node

var (
	JabberContact = jabberContact
	MustKeys      = mustKeys
	ParseRequest  = parseRequest
	Header        = header
)
