"""One active instance per processor version, and no transaction left behind by a killed one.

A processor killed mid-transaction leaves the transaction open on the server until it expires
(a minute on mongod; longer on the test server), and every later batch conflicts with it on the
checkpoint document. So each instance runs all its transactions in one session whose id it records
as the lease; the next instance kills that session (aborting its transaction at once) and takes the
lease. Each commit re-reads the lease inside its transaction: an instance that lost it stops writing.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime
from typing import Any

from bson import Binary
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from service_kit.metrics import timed
from service_kit.mongo import MongoClient

log = logging.getLogger(__name__)

LEASES_COLLECTION = "processor_leases"


class LeaseLost(RuntimeError):
    """Another instance of this processor version took over; this one must stop writing."""


def session_id_of(session: AsyncClientSession) -> Binary:
    session_id: Binary = session.session_id["id"]
    return session_id


@timed("mongo", "take_lease")
async def take_lease(client: MongoClient, db: AsyncDatabase[dict[str, Any]], lease_id: str) -> AsyncClientSession:
    """Abort the previous holder's session, then record a new session as the holder and return it."""
    leases = db[LEASES_COLLECTION]
    previous = await leases.find_one({"_id": lease_id})
    if previous is not None and previous.get("session_id") is not None:
        try:
            await client.admin.command({"killSessions": [{"id": previous["session_id"]}]})
        except PyMongoError as error:  # the session may be long gone; nothing to abort then
            log.info("previous processor session not killed", extra={"error": repr(error)[:200]})
    session = client.start_session()
    holder = {"session_id": session_id_of(session), "host": socket.gethostname(), "pid": os.getpid(),
              "since": datetime.now(UTC)}
    await leases.update_one({"_id": lease_id}, {"$set": holder}, upsert=True)
    return session


async def check_lease(db: AsyncDatabase[dict[str, Any]], lease_id: str, session: AsyncClientSession) -> None:
    """Inside a transaction: raise ``LeaseLost`` unless this session still holds the lease."""
    current = await db[LEASES_COLLECTION].find_one({"_id": lease_id}, session=session)
    if current is None or current.get("session_id") != session_id_of(session):
        raise LeaseLost(f"{lease_id} is now held by another instance")
