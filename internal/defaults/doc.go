// Package defaults holds the one rule most configuration fields of the
// module share: a field that is zero or less takes its default. A field
// whose negative value means something else ("none", "no limit") does not
// use it. Standard library only.
package defaults
