"""The PlayBall auth service: user accounts, publishing user events through an outbox.

Not built yet: this package only holds its place in the workspace (dependencies and
layout) until the service's issue is taken up.
"""
