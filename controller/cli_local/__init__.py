"""The command line run on the controller machine beside its database (``loaxa user``,
``loaxa audit``): the first administrator's account before anyone can sign in, and the
tamper check of the audit trail.

These commands join several packages (accounts, the registry, the audit trail, the signing
keys), so they sit above all of them, as the HTTP command line does in ``cli_http``.  The
package has no public names of its own: its ``commands.register`` is an entry point.
"""
