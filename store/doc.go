// Package store is paybridge's durable record: one SQLite file, migrated on start, with the
// repository API that is the only SQL in the project.
package store
