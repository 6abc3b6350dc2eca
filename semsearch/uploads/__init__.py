"""Files in over HTTP, in the knowledge-base layer: checking a file's name and staging its bytes on disk
(`staging`), and `submit_files` (`submit`), which queues a job (`jobs`) that reads the staged files with the readers
of `semsearch ingest`.

    staging = Staging.create(settings)                 # a private temporary folder for one request's files
    upload = staging.begin(b"report.pdf")              # the name as sent: checked, never trusted as a path
    for block in body: upload.write(block)             # streamed to disk; over the limit it is refused (413)
    upload.finish()
    job = submit_files(kb, staging, queue=queue, doc_ids=["reports/2024.pdf"])   # the job owns the folder now
    job.wait(60); job.to_dict()

A file keeps its own name inside the folder, so a reader sees the same stem (titles) and suffix (format) as it
would locally; its id is the `doc_id` given, else its name. So an upload with the id a local ingest would give
(`semsearch ingest --api` sends that) stores exactly the rows the local ingest stores, and embeds nothing that is
already there (content hashes). A refused file (a hostile name, a type no reader takes, empty, over the limit) is
reported by name with an HTTP-like status while the other files go on.
"""

from semsearch.uploads.jobs import FileState, Job, JobCancelled, JobNotFound, JobQueue, QueueFull
from semsearch.uploads.staging import FilesRefused, StagedFile, Staging, check_name
from semsearch.uploads.submit import FileInfo, ReadOptions, files_page, nothing_read, submit_files

__all__ = [
    "FileInfo",
    "FileState",
    "FilesRefused",
    "Job",
    "JobCancelled",
    "JobNotFound",
    "JobQueue",
    "QueueFull",
    "ReadOptions",
    "StagedFile",
    "Staging",
    "check_name",
    "files_page",
    "nothing_read",
    "submit_files",
]
