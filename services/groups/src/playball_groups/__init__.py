"""The PlayBall groups service: the groups API over a local view of users fed by events.

Not built yet: this package only holds its place in the workspace (dependencies and
layout) until the service's issue is taken up.
"""
