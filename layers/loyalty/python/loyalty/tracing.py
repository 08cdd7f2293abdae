"""What the Powertools Tracer patches in every function.

botocore alone (X-Ray's "boto3" patch is botocore's): every DynamoDB, EventBridge, S3 and Secrets
Manager call is a subsegment of the request's trace. Tracer() left to itself patches every library
X-Ray knows (requests, pynamodb, sqlite3, httpx, ...), importing each at cold start: pynamodb's and
requests' patches alone cost about 100 ms of a cold import, and our pynamodb calls are botocore
calls, traced already.
"""

TRACED_MODULES = ("boto3",)
