"""Browser tests of the pages (staff console, leader, operator board) and `make screenshots`."""
