#!/usr/bin/env python3
"""Writes examples/sample-logs/: a small, self-consistent incident in every log shape Firebreak reads.

Story (account 111122223333, 2026-11-21): the CI user `ci-deployer` leaks access key AKIAQXAMPLELEAKED001.
From 203.0.113.77 the attacker enumerates (some calls AccessDenied), creates a backdoor admin user, stops
CloudTrail logging, deletes flow logs, launches a GPU instance that mines crypto, and opens a bucket.
Benign activity by an SSO user runs alongside. Deterministic: run again to get the same bytes.
"""
import base64, gzip, io, json, os, uuid

OUT = os.path.join(os.path.dirname(__file__), "..", "examples", "sample-logs")
ACCT = "111122223333"
ATTACKER_IP = "203.0.113.77"
KEY = "AKIAQXAMPLELEAKED001"
ns = uuid.UUID("6f1c8c52-0000-4000-8000-000000000000")

def eid(n):
    return str(uuid.uuid5(ns, str(n)))

def gz(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as f:
        f.write(data)
    return buf.getvalue()

def ci_user():
    return {"type": "IAMUser", "principalId": "AIDAQXAMPLECIDEPLOY1", "arn": f"arn:aws:iam::{ACCT}:user/ci-deployer",
            "accountId": ACCT, "accessKeyId": KEY, "userName": "ci-deployer"}

def sso_user():
    return {"type": "AssumedRole", "principalId": "AROAQXAMPLESSOADMIN1:alice@example.com",
            "arn": f"arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_PowerUser_0a1b2c3d/alice@example.com",
            "accountId": ACCT, "accessKeyId": "ASIAQXAMPLEALICE0001",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAQXAMPLESSOADMIN1",
                "arn": f"arn:aws:iam::{ACCT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_PowerUser_0a1b2c3d",
                "accountId": ACCT, "userName": "AWSReservedSSO_PowerUser_0a1b2c3d"},
                "attributes": {"creationDate": "2026-11-21T08:55:00Z", "mfaAuthenticated": "true"}}}

n = 0
def ev(t, source, name, identity, ip, ua, region="us-east-1", req=None, resp=None, error=None, read_only=False, resources=None, extra=None):
    global n
    n += 1
    e = {"eventVersion": "1.09", "userIdentity": identity, "eventTime": t, "eventSource": source, "eventName": name,
         "awsRegion": region, "sourceIPAddress": ip, "userAgent": ua, "requestParameters": req,
         "responseElements": resp, "requestID": eid(f"req{n}"), "eventID": eid(n), "readOnly": read_only,
         "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": ACCT, "eventCategory": "Management"}
    if error:
        e["errorCode"], e["errorMessage"] = error
    if resources:
        e["resources"] = resources
    if extra:
        e.update(extra)
    return e

CLI = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/"
PACU = "Boto3/1.34.10 md/Botocore#1.34.10 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.4 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.10"
deny = lambda op: ("AccessDenied", f"User: arn:aws:iam::{ACCT}:user/ci-deployer is not authorized to perform: {op}")

attack = [
    ev("2026-11-21T09:12:03Z", "sts.amazonaws.com", "GetCallerIdentity", ci_user(), ATTACKER_IP, CLI + "sts.get-caller-identity", read_only=True),
    ev("2026-11-21T09:12:41Z", "s3.amazonaws.com", "ListBuckets", ci_user(), ATTACKER_IP, PACU, read_only=True, req={"Host": "s3.amazonaws.com"}),
    ev("2026-11-21T09:12:44Z", "iam.amazonaws.com", "ListUsers", ci_user(), ATTACKER_IP, PACU, read_only=True),
    ev("2026-11-21T09:12:45Z", "iam.amazonaws.com", "GetAccountAuthorizationDetails", ci_user(), ATTACKER_IP, PACU, read_only=True, error=deny("iam:GetAccountAuthorizationDetails")),
    ev("2026-11-21T09:12:47Z", "secretsmanager.amazonaws.com", "ListSecrets", ci_user(), ATTACKER_IP, PACU, read_only=True, error=deny("secretsmanager:ListSecrets")),
    ev("2026-11-21T09:12:49Z", "ec2.amazonaws.com", "DescribeInstances", ci_user(), ATTACKER_IP, PACU, read_only=True, req={"instancesSet": {}, "filterSet": {}}),
    ev("2026-11-21T09:12:52Z", "iam.amazonaws.com", "ListRoles", ci_user(), ATTACKER_IP, PACU, read_only=True),
    ev("2026-11-21T09:14:10Z", "iam.amazonaws.com", "CreateUser", ci_user(), ATTACKER_IP, CLI + "iam.create-user",
       req={"userName": "svc-backup"}, resp={"user": {"path": "/", "userName": "svc-backup", "userId": "AIDAQXAMPLEBACKDOOR1",
       "arn": f"arn:aws:iam::{ACCT}:user/svc-backup", "createDate": "Nov 21, 2026 9:14:10 AM"}}),
    ev("2026-11-21T09:14:31Z", "iam.amazonaws.com", "AttachUserPolicy", ci_user(), ATTACKER_IP, CLI + "iam.attach-user-policy",
       req={"userName": "svc-backup", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    ev("2026-11-21T09:14:58Z", "iam.amazonaws.com", "CreateAccessKey", ci_user(), ATTACKER_IP, CLI + "iam.create-access-key",
       req={"userName": "svc-backup"}, resp={"accessKey": {"userName": "svc-backup", "accessKeyId": "AKIAQXAMPLEBACKDOOR1", "status": "Active", "createDate": "Nov 21, 2026 9:14:58 AM"}}),
    ev("2026-11-21T09:15:20Z", "iam.amazonaws.com", "CreateLoginProfile", ci_user(), ATTACKER_IP, CLI + "iam.create-login-profile",
       req={"userName": "svc-backup", "passwordResetRequired": False}),
    ev("2026-11-21T09:16:02Z", "cloudtrail.amazonaws.com", "StopLogging", ci_user(), ATTACKER_IP, CLI + "cloudtrail.stop-logging",
       req={"name": f"arn:aws:cloudtrail:us-east-1:{ACCT}:trail/org-trail"}),
    ev("2026-11-21T09:16:30Z", "ec2.amazonaws.com", "DeleteFlowLogs", ci_user(), ATTACKER_IP, CLI + "ec2.delete-flow-logs",
       req={"DeleteFlowLogsRequest": {"FlowLogId": {"content": "fl-0a1b2c3d4e5f67890", "tag": 1}}}, resp={"DeleteFlowLogsResponse": {"unsuccessful": ""}}),
    ev("2026-11-21T09:18:11Z", "ec2.amazonaws.com", "RunInstances", ci_user(), ATTACKER_IP, CLI + "ec2.run-instances", region="us-west-2",
       req={"instancesSet": {"items": [{"imageId": "ami-0c55b159cbfafe1f0", "minCount": 1, "maxCount": 1}]}, "instanceType": "p3.8xlarge"},
       resp={"instancesSet": {"items": [{"instanceId": "i-0badc0ffee0ddf00d", "instanceType": "p3.8xlarge"}]}}),
    ev("2026-11-21T09:19:40Z", "s3.amazonaws.com", "PutBucketPolicy", ci_user(), ATTACKER_IP, CLI + "s3api.put-bucket-policy",
       req={"bucketName": "acme-customer-exports", "bucketPolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-customer-exports/*"}]}},
       resources=[{"ARN": "arn:aws:s3:::acme-customer-exports", "accountId": ACCT, "type": "AWS::S3::Bucket"}]),
    ev("2026-11-21T09:21:05Z", "signin.amazonaws.com", "ConsoleLogin",
       {"type": "IAMUser", "principalId": "AIDAQXAMPLEBACKDOOR1", "arn": f"arn:aws:iam::{ACCT}:user/svc-backup", "accountId": ACCT, "userName": "svc-backup"},
       ATTACKER_IP, "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
       resp={"ConsoleLogin": "Success"}, extra={"eventType": "AwsConsoleSignIn", "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "No"}}),
]
benign = [
    ev("2026-11-21T09:05:12Z", "s3.amazonaws.com", "ListBuckets", sso_user(), "198.51.100.10", "console.amazonaws.com", read_only=True),
    ev("2026-11-21T09:07:33Z", "lambda.amazonaws.com", "ListFunctions20150331", sso_user(), "198.51.100.10", "console.amazonaws.com", read_only=True),
    ev("2026-11-21T09:30:02Z", "ec2.amazonaws.com", "DescribeSecurityGroups", sso_user(), "198.51.100.10", "console.amazonaws.com", read_only=True),
    ev("2026-11-21T09:31:45Z", "ssm.amazonaws.com", "GetParameter", sso_user(), "198.51.100.10", "console.amazonaws.com", read_only=True, req={"name": "/app/prod/feature-flags"}),
]

os.makedirs(os.path.join(OUT, "cloudtrail"), exist_ok=True)
# As S3 delivers it: one gzipped {"Records":[...]} object per file.
records = sorted(attack[:11] + benign[:2], key=lambda e: e["eventTime"])
with open(os.path.join(OUT, "cloudtrail", f"{ACCT}_CloudTrail_us-east-1_20261121T0915Z_sample.json.gz"), "wb") as f:
    f.write(gz(json.dumps({"Records": records}, separators=(",", ":")).encode()))
# As JSON lines (e.g. exported by a SIEM).
with open(os.path.join(OUT, "cloudtrail", "later-events.jsonl"), "w") as f:
    for e in sorted(attack[11:] + benign[2:], key=lambda e: e["eventTime"]):
        f.write(json.dumps(e, separators=(",", ":")) + "\n")
# A digest file, which is counted and not turned into events.
with open(os.path.join(OUT, "cloudtrail", f"{ACCT}_CloudTrail-Digest_us-east-1_20261121T1000Z.json"), "w") as f:
    json.dump({"awsAccountId": ACCT, "digestStartTime": "2026-11-21T09:00:00Z", "digestEndTime": "2026-11-21T10:00:00Z",
               "digestS3Bucket": "acme-cloudtrail", "digestPublicKeyFingerprint": "0a1b2c3d4e5f", "digestSignatureAlgorithm": "SHA256withRSA",
               "logFiles": []}, f)

# VPC Flow Logs as S3 delivers them with a custom format (header line), gzipped.
os.makedirs(os.path.join(OUT, "vpcflow"), exist_ok=True)
header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags flow-direction"
lines = [header]
eni, inst, vpc, subnet, miner_ip = "eni-0a1b2c3d4e5f60001", "i-0badc0ffee0ddf00d", "vpc-0a1b2c3d", "subnet-0a1b2c3d", "10.20.1.45"
t0 = 1795252740  # 2026-11-21T09:19:00Z
for i in range(6):
    lines.append(f"5 {ACCT} {eni} {miner_ip} 45.9.148.3 {40000+i} 3333 6 {900+i*10} {480000+i*1000} {t0+i*60} {t0+i*60+59} ACCEPT OK {vpc} {subnet} {inst} 19 egress")
for port in [21, 22, 23, 25, 80, 110, 143, 443, 445, 3306, 3389, 5432, 6379, 8080, 9200]:
    lines.append(f"5 {ACCT} {eni} 198.51.100.23 {miner_ip} 51515 {port} 6 1 44 {t0+30} {t0+89} REJECT OK {vpc} {subnet} {inst} 2 ingress")
lines.append(f"5 {ACCT} {eni} - - - - - - - {t0+600} {t0+659} - NODATA {vpc} {subnet} {inst} - -")
with open(os.path.join(OUT, "vpcflow", f"{ACCT}_vpcflowlogs_us-west-2_fl-0a1b2c3d_20261121T0920Z_sample.log.gz"), "wb") as f:
    f.write(gz(("\n".join(lines) + "\n").encode()))

# CloudWatch Logs subscription payloads as Kinesis carries them (base64 of gzip), one record per line.
def cwl(message_type, events, group="/vpc/flow-logs"):
    payload = {"messageType": message_type, "owner": ACCT, "logGroup": group, "logStream": eni,
               "subscriptionFilters": ["to-firebreak"], "logEvents": events}
    return base64.b64encode(gz(json.dumps(payload).encode())).decode()
default_flow = [f"2 {ACCT} {eni} {miner_ip} 45.9.148.3 {41000+i} 3333 6 800 420000 {t0+900+i*60} {t0+959+i*60} ACCEPT OK" for i in range(3)]
kinesis_lines = [
    cwl("CONTROL_MESSAGE", [{"id": "", "timestamp": 1795252740000, "message": "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}], group=""),
    cwl("DATA_MESSAGE", [{"id": str(36000000000000000000000000 + i), "timestamp": 1795253640000 + i, "message": m} for i, m in enumerate(default_flow)]),
    cwl("DATA_MESSAGE", [{"id": "36000000000000000000000100", "timestamp": 1795255300000, "message": json.dumps(benign[3])}], group="aws-cloudtrail-logs"),
]
os.makedirs(os.path.join(OUT, "cwlogs"), exist_ok=True)
with open(os.path.join(OUT, "cwlogs", "kinesis-records.b64"), "w") as f:
    f.write("\n".join(kinesis_lines) + "\n")

# GuardDuty findings: an EventBridge-wrapped one, and a GetFindings response.
def gd(fid, ftype, title, sev, resource, action, t):
    return {"schemaVersion": "2.0", "accountId": ACCT, "region": "us-west-2", "partition": "aws", "id": fid,
            "arn": f"arn:aws:guardduty:us-west-2:{ACCT}:detector/12abc34d567e8fa901bc2d34e56789f0/finding/{fid}",
            "type": ftype, "resource": resource, "service": {"serviceName": "guardduty", "detectorId": "12abc34d567e8fa901bc2d34e56789f0",
            "action": action, "eventFirstSeen": t, "eventLastSeen": t, "archived": False, "count": 1},
            "severity": sev, "createdAt": t, "updatedAt": t, "title": title, "description": title + "."}
instance_res = {"resourceType": "Instance", "instanceDetails": {"instanceId": inst, "instanceType": "p3.8xlarge", "imageId": "ami-0c55b159cbfafe1f0"}}
mining = gd("6ec9a1f0b2d34c5e8f7a9b0c1d2e3f40", "CryptoCurrency:EC2/BitcoinTool.B", f"EC2 instance {inst} is communicating with a Bitcoin mining pool",
            8, instance_res, {"actionType": "NETWORK_CONNECTION", "networkConnectionAction": {"connectionDirection": "OUTBOUND", "protocol": "TCP",
            "remoteIpDetails": {"ipAddressV4": "45.9.148.3"}, "remotePortDetails": {"port": 3333}}}, "2026-11-21T09:25:00.000Z")
logging_off = gd("7fd0b2a1c3e45d6f9a8b0c1d2e3f4051", "Stealth:IAMUser/CloudTrailLoggingDisabled", "CloudTrail logging was disabled by ci-deployer",
                 2, {"resourceType": "AccessKey", "accessKeyDetails": {"accessKeyId": KEY, "principalId": "AIDAQXAMPLECIDEPLOY1", "userName": "ci-deployer", "userType": "IAMUser"}},
                 {"actionType": "AWS_API_CALL", "awsApiCallAction": {"api": "StopLogging", "serviceName": "cloudtrail.amazonaws.com", "callerType": "Remote IP",
                  "remoteIpDetails": {"ipAddressV4": ATTACKER_IP}}}, "2026-11-21T09:17:00.000Z")
os.makedirs(os.path.join(OUT, "findings"), exist_ok=True)
with open(os.path.join(OUT, "findings", "guardduty-eventbridge.json"), "w") as f:
    json.dump({"version": "0", "id": "c8f0a1b2-1111-2222-3333-444455556666", "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
               "account": ACCT, "time": "2026-11-21T09:25:00Z", "region": "us-west-2", "resources": [], "detail": mining}, f, indent=2)
with open(os.path.join(OUT, "findings", "guardduty-getfindings.json"), "w") as f:
    json.dump({"Findings": [logging_off]}, f, indent=2)
asff = {"SchemaVersion": "2018-10-08", "Id": f"arn:aws:securityhub:us-east-1:{ACCT}:subscription/aws-foundational-security-best-practices/v/1.0.0/S3.2/finding/0f1e2d3c",
        "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/securityhub", "ProductName": "Security Hub", "GeneratorId": "aws-foundational-security-best-practices/v/1.0.0/S3.2",
        "AwsAccountId": ACCT, "Types": ["Software and Configuration Checks/Industry and Regulatory Standards/AWS-Foundational-Security-Best-Practices"],
        "CreatedAt": "2026-11-21T09:22:10.000Z", "UpdatedAt": "2026-11-21T09:22:10.000Z", "Severity": {"Label": "CRITICAL", "Normalized": 90},
        "Title": "S3.2 S3 general purpose buckets should block public read access", "Description": "Bucket acme-customer-exports allows public read access.",
        "Resources": [{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::acme-customer-exports", "Partition": "aws", "Region": "us-east-1"}],
        "Region": "us-east-1", "Workflow": {"Status": "NEW"}, "RecordState": "ACTIVE"}
with open(os.path.join(OUT, "findings", "securityhub-imported.json"), "w") as f:
    json.dump({"version": "0", "id": "d9e0f1a2-7777-8888-9999-000011112222", "detail-type": "Security Hub Findings - Imported", "source": "aws.securityhub",
               "account": ACCT, "time": "2026-11-21T09:22:12Z", "region": "us-east-1", "resources": [asff["Id"]], "detail": {"findings": [asff]}}, f, indent=2)
print("wrote", OUT)
