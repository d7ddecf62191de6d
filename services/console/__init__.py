"""The staff console (工作台, CONTRACTS §7): named accounts, sessions and the pages in the browser."""
