"""The User aggregate and its rules; free of SQL, HTTP and hashing libraries."""
