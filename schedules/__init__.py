"""Broadcast scheduling domain: pure logic, no I/O, time-zone correct (Asia/Ho_Chi_Minh)."""
