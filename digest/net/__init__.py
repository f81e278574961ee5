"""The network edge: the one HTTP path every fetch takes (a total deadline per request,
redirects checked hop by hop, bounded gzip, conditional GET, Cache-Control, and the guard that
keeps URLs from content off loopback and private addresses), which IP addresses are not
public, and canonical URLs (two spellings of one page compare equal).

May import: errors, models.
"""
