//! The forensic workstation, as CloudFormation templates (JSON):
//!
//! - [`workstation`]: an isolated VPC (no internet gateway, no NAT; SSM and S3 reached
//!   through VPC endpoints), an instance from the forensic AMI with IMDSv2 and termination
//!   protection, an instance profile that can only read the evidence bucket, and one volume
//!   per case snapshot attached to it.
//! - [`image_pipeline`]: the EC2 Image Builder component, recipe, infrastructure,
//!   distribution and a scheduled pipeline that rebuilds the hardened forensic AMI weekly
//!   with current patches and tools.
//!
//! Pure: values in, template out.

use serde_json::{Map, Value, json};

/// What the workstation template is made for.
#[derive(Debug, Clone, Default)]
pub struct Workstation {
    pub case: case::CaseId,
    /// The evidence bucket the workstation may read.
    pub evidence_bucket: String,
    /// The forensic AMI (parameter default; empty: must be given at deploy time).
    pub ami: Option<String>,
    /// Snapshot ids to turn into attached volumes.
    pub snapshots: Vec<String>,
    /// A KMS key the workstation may decrypt evidence volumes and objects with.
    pub kms_key_arn: Option<String>,
}

/// Device names for attached evidence volumes (`/dev/sdf` … `/dev/sdz`).
const DEVICES: &str = "fghijklmnopqrstuvwxyz";

/// The workstation stack.
pub fn workstation(w: &Workstation) -> Value {
    let mut resources = Map::new();
    let mut add = |name: &str, v: Value| {
        resources.insert(name.to_string(), v);
    };
    let tags = |name: &str| {
        json!([{"Key": "Name", "Value": {"Fn::Sub": format!("firebreak-case-${{CaseId}}-{name}")}},
               {"Key": "firebreak:case", "Value": {"Ref": "CaseId"}}])
    };
    add(
        "Vpc",
        json!({"Type": "AWS::EC2::VPC", "Properties": {
        "CidrBlock": "10.99.0.0/16", "EnableDnsSupport": true, "EnableDnsHostnames": true, "Tags": tags("vpc")}}),
    );
    add(
        "Subnet",
        json!({"Type": "AWS::EC2::Subnet", "Properties": {
        "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.99.1.0/24", "AvailabilityZone": {"Ref": "AvailabilityZone"},
        "MapPublicIpOnLaunch": false, "Tags": tags("private")}}),
    );
    // The route table has only the local route: no internet gateway, no NAT.
    add(
        "RouteTable",
        json!({"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}, "Tags": tags("routes")}}),
    );
    add(
        "SubnetRoutes",
        json!({"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {
        "SubnetId": {"Ref": "Subnet"}, "RouteTableId": {"Ref": "RouteTable"}}}),
    );
    add(
        "EndpointSecurityGroup",
        json!({"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "HTTPS from the workstation subnet to the VPC endpoints",
        "VpcId": {"Ref": "Vpc"},
        "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.99.0.0/16"}],
        "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.99.0.0/16"}],
        "Tags": tags("endpoints")}}),
    );
    add(
        "WorkstationSecurityGroup",
        json!({"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "Forensic workstation: no inbound; HTTPS out, which only the VPC endpoints can answer",
        "VpcId": {"Ref": "Vpc"},
        "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}],
        "Tags": tags("workstation")}}),
    );
    for (name, service) in [
        ("SsmEndpoint", "ssm"),
        ("SsmMessagesEndpoint", "ssmmessages"),
        ("Ec2MessagesEndpoint", "ec2messages"),
    ] {
        add(
            name,
            json!({"Type": "AWS::EC2::VPCEndpoint", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "VpcEndpointType": "Interface", "PrivateDnsEnabled": true,
            "ServiceName": {"Fn::Sub": format!("com.amazonaws.${{AWS::Region}}.{service}")},
            "SubnetIds": [{"Ref": "Subnet"}], "SecurityGroupIds": [{"Ref": "EndpointSecurityGroup"}]}}),
        );
    }
    add(
        "S3Endpoint",
        json!({"Type": "AWS::EC2::VPCEndpoint", "Properties": {
        "VpcId": {"Ref": "Vpc"}, "VpcEndpointType": "Gateway", "RouteTableIds": [{"Ref": "RouteTable"}],
        "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"},
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"],
            "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:s3:::${EvidenceBucket}"}, {"Fn::Sub": "arn:${AWS::Partition}:s3:::${EvidenceBucket}/*"}]}]}}}),
    );
    let mut statements = vec![json!({
        "Sid": "ReadEvidence", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"],
        "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:s3:::${EvidenceBucket}"}, {"Fn::Sub": "arn:${AWS::Partition}:s3:::${EvidenceBucket}/*"}]})];
    if let Some(k) = &w.kms_key_arn {
        statements.push(json!({"Sid": "DecryptEvidence", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": k}));
    }
    add(
        "WorkstationRole",
        json!({"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}],
        "Policies": [{"PolicyName": "read-only-evidence", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
        "Tags": [{"Key": "firebreak:case", "Value": {"Ref": "CaseId"}}]}}),
    );
    add(
        "WorkstationProfile",
        json!({"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [{"Ref": "WorkstationRole"}]}}),
    );
    add(
        "Workstation",
        json!({"Type": "AWS::EC2::Instance", "Properties": {
        "ImageId": {"Ref": "ForensicAmiId"}, "InstanceType": {"Ref": "InstanceType"},
        "SubnetId": {"Ref": "Subnet"}, "SecurityGroupIds": [{"Ref": "WorkstationSecurityGroup"}],
        "IamInstanceProfile": {"Ref": "WorkstationProfile"}, "DisableApiTermination": true,
        "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 100, "VolumeType": "gp3", "Encrypted": true}}],
        "Tags": tags("workstation")}}),
    );
    for (i, snap) in w.snapshots.iter().enumerate().take(DEVICES.len()) {
        let n = i + 1;
        let device = format!("/dev/sd{}", &DEVICES[i..i + 1]);
        add(
            &format!("EvidenceVolume{n}"),
            json!({"Type": "AWS::EC2::Volume", "Properties": {
            "SnapshotId": snap, "AvailabilityZone": {"Fn::GetAtt": ["Workstation", "AvailabilityZone"]},
            "Encrypted": true, "VolumeType": "gp3",
            "Tags": [{"Key": "firebreak:case", "Value": {"Ref": "CaseId"}}, {"Key": "firebreak:evidence", "Value": snap}]}}),
        );
        add(
            &format!("EvidenceAttachment{n}"),
            json!({"Type": "AWS::EC2::VolumeAttachment", "Properties": {
            "InstanceId": {"Ref": "Workstation"}, "VolumeId": {"Ref": format!("EvidenceVolume{n}")}, "Device": device}}),
        );
    }
    let mut ami = json!({"Type": "AWS::EC2::Image::Id", "Description": "The hardened forensic AMI (from the Image Builder pipeline)"});
    if let Some(a) = &w.ami {
        ami["Default"] = json!(a);
    }
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("Firebreak forensic workstation for case {}: isolated VPC (no internet route), read-only evidence access, case snapshots attached as volumes (mount them read-only).", w.case),
        "Parameters": {
            "CaseId": {"Type": "String", "Default": w.case.to_string()},
            "ForensicAmiId": ami,
            "InstanceType": {"Type": "String", "Default": "m6i.xlarge", "AllowedValues": ["m6i.large", "m6i.xlarge", "m6i.2xlarge", "r6i.xlarge", "r6i.2xlarge"]},
            "EvidenceBucket": {"Type": "String", "Default": w.evidence_bucket},
            "AvailabilityZone": {"Type": "AWS::EC2::AvailabilityZone::Name", "Description": "Where the snapshots' volumes are created"},
        },
        "Resources": resources,
        "Outputs": {
            "InstanceId": {"Value": {"Ref": "Workstation"}},
            "Connect": {"Value": {"Fn::Sub": "aws ssm start-session --target ${Workstation}"}},
        },
    })
}

/// The Image Builder component that installs the forensic toolset.
const COMPONENT: &str = r#"name: firebreak-forensic-tools
description: Forensic toolset for the Firebreak workstation
schemaVersion: 1.0
phases:
  - name: build
    steps:
      - name: Tools
        action: ExecuteBash
        inputs:
          commands:
            - dnf -y install python3-pip sleuthkit yara jq tcpdump
            - pip3 install --no-cache-dir volatility3
            - install -d /opt/firebreak/evidence
      - name: Harden
        action: ExecuteBash
        inputs:
          commands:
            - systemctl disable --now sshd || true
            - echo 'blacklist usb-storage' > /etc/modprobe.d/firebreak.conf
  - name: validate
    steps:
      - name: ToolsPresent
        action: ExecuteBash
        inputs:
          commands:
            - command -v fls
            - command -v yara
            - command -v vol
"#;

/// The Image Builder pipeline for the forensic AMI, rebuilt on a schedule.
pub fn image_pipeline() -> Value {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Firebreak forensic workstation AMI: EC2 Image Builder pipeline, rebuilt weekly with current patches and tools.",
        "Parameters": {
            "Schedule": {"Type": "String", "Default": "cron(0 3 ? * sun *)", "Description": "When the AMI is rebuilt"},
            "InstanceType": {"Type": "String", "Default": "m6i.large"},
        },
        "Resources": {
            "ToolsComponent": {"Type": "AWS::ImageBuilder::Component", "Properties": {
                "Name": "firebreak-forensic-tools", "Version": "1.0.0", "Platform": "Linux",
                "Description": "Forensic toolset and hardening", "Data": COMPONENT}},
            "Recipe": {"Type": "AWS::ImageBuilder::ImageRecipe", "Properties": {
                "Name": "firebreak-forensic-workstation", "Version": "1.0.0",
                "ParentImage": {"Fn::Sub": "arn:${AWS::Partition}:imagebuilder:${AWS::Region}:aws:image/amazon-linux-2023-x86/x.x.x"},
                "Components": [
                    {"ComponentArn": {"Fn::Sub": "arn:${AWS::Partition}:imagebuilder:${AWS::Region}:aws:component/update-linux/x.x.x"}},
                    {"ComponentArn": {"Ref": "ToolsComponent"}}],
                "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 100, "VolumeType": "gp3", "Encrypted": true, "DeleteOnTermination": true}}]}},
            "BuildRole": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                "ManagedPolicyArns": [
                    {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/EC2InstanceProfileForImageBuilder"},
                    {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}]}},
            "BuildProfile": {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [{"Ref": "BuildRole"}]}},
            "Infrastructure": {"Type": "AWS::ImageBuilder::InfrastructureConfiguration", "Properties": {
                "Name": "firebreak-forensic-build", "InstanceProfileName": {"Ref": "BuildProfile"},
                "InstanceTypes": [{"Ref": "InstanceType"}], "TerminateInstanceOnFailure": true,
                "InstanceMetadataOptions": {"HttpTokens": "required"}}},
            "Distribution": {"Type": "AWS::ImageBuilder::DistributionConfiguration", "Properties": {
                "Name": "firebreak-forensic-ami",
                "Distributions": [{"Region": {"Ref": "AWS::Region"}, "AmiDistributionConfiguration": {
                    "Name": "firebreak-forensic-{{ imagebuilder:buildDate }}",
                    "AmiTags": {"firebreak:role": "forensic-workstation"}}}]}},
            "Pipeline": {"Type": "AWS::ImageBuilder::ImagePipeline", "Properties": {
                "Name": "firebreak-forensic-workstation",
                "ImageRecipeArn": {"Ref": "Recipe"},
                "InfrastructureConfigurationArn": {"Ref": "Infrastructure"},
                "DistributionConfigurationArn": {"Ref": "Distribution"},
                "ImageTestsConfiguration": {"ImageTestsEnabled": true, "TimeoutMinutes": 90},
                "Schedule": {"ScheduleExpression": {"Ref": "Schedule"}, "PipelineExecutionStartCondition": "EXPRESSION_MATCH_ONLY"},
                "Status": "ENABLED"}},
        },
        "Outputs": {"Pipeline": {"Value": {"Ref": "Pipeline"}}},
    })
}
