//! EC2: tags, instance attributes and profiles, snapshots and their copies, security groups,
//! network ACLs, images, flow logs.

use super::*;

/// Sends an EC2 call (`Call::send` routes only those here).
pub(super) async fn send(call: &Call, cx: &Cx<'_>) -> Result<Value, AwsError> {
    use Call::*;
    use aws_sdk_ec2::types as ec2t;
    match call {
        CreateTags { resource, tags } => {
            let mut req = cx.ec2().create_tags().resources(resource);
            for (k, v) in tags {
                req = req.tags(ec2t::Tag::builder().key(k).value(v).build());
            }
            send!("ec2", "CreateTags", req)?;
        }
        DeleteTags { resource, keys } => {
            let mut req = cx.ec2().delete_tags().resources(resource);
            for k in keys {
                req = req.tags(ec2t::Tag::builder().key(k).build());
            }
            send!("ec2", "DeleteTags", req)?;
        }
        SetTerminationProtection { instance, on } => {
            send!(
                "ec2",
                "ModifyInstanceAttribute",
                cx.ec2()
                    .modify_instance_attribute()
                    .instance_id(instance)
                    .disable_api_termination(
                        ec2t::AttributeBooleanValue::builder().value(*on).build()
                    )
            )?;
        }
        SetShutdownBehavior { instance, behavior } => {
            send!(
                "ec2",
                "ModifyInstanceAttribute",
                cx.ec2()
                    .modify_instance_attribute()
                    .instance_id(instance)
                    .instance_initiated_shutdown_behavior(
                        ec2t::AttributeValue::builder().value(behavior).build()
                    )
            )?;
        }
        CaptureInstance { instance } => {
            let described = send!(
                "ec2",
                "DescribeInstances",
                cx.ec2().describe_instances().instance_ids(instance)
            )?;
            let metadata = format!("{described:#?}");
            let console = send!(
                "ec2",
                "GetConsoleOutput",
                cx.ec2()
                    .get_console_output()
                    .instance_id(instance)
                    .latest(true)
            )?;
            let console = console.output().unwrap_or_default().to_string();
            return Ok(json!({
                "evidence": "instance-metadata",
                "metadata_sha256": crate::sha256_hex(metadata.as_bytes()),
                "console_output_sha256": crate::sha256_hex(console.as_bytes()),
                "metadata": metadata,
                "console_output_base64": console,
            }));
        }
        CreateSnapshots { instance, case } => {
            let out = send!(
                "ec2",
                "CreateSnapshots",
                cx.ec2()
                    .create_snapshots()
                    .instance_specification(
                        ec2t::InstanceSpecification::builder()
                            .instance_id(instance)
                            .build()
                    )
                    .copy_tags_from_source(ec2t::CopyTagsFromSource::Volume)
                    .description(format!("Firebreak case {case}: evidence of {instance}"))
                    .tag_specifications(
                        ec2t::TagSpecification::builder()
                            .resource_type(ec2t::ResourceType::Snapshot)
                            .tags(
                                ec2t::Tag::builder()
                                    .key("firebreak:case")
                                    .value(case.to_string())
                                    .build()
                            )
                            .build()
                    )
            )?;
            let ids: Vec<&str> = out
                .snapshots()
                .iter()
                .filter_map(|s| s.snapshot_id())
                .collect();
            return Ok(json!({ "snapshots": ids }));
        }
        CopyCaseSnapshots {
            instance,
            case,
            kms_key,
            share_with,
        } => {
            let found =
                crate::forensics::case_snapshots(cx.conn(), cx.region(), instance, *case).await?;
            if found.is_empty() {
                return Err(AwsError::Call {
                    service: "ec2",
                    operation: "DescribeSnapshots",
                    code: None,
                    message: format!(
                        "no snapshot of {instance} is tagged with case {case}: snapshot its volumes first (ec2.snapshot-volumes)"
                    ),
                });
            }
            let mut copies = Vec::new();
            for (snapshot, volume) in &found {
                let r = copy_request(instance, snapshot, volume, *case, kms_key, share_with);
                copies.push(crate::forensics::copy_for_forensics(cx.conn(), cx.region(), r).await?);
            }
            return Ok(json!({ "copies": copies }));
        }
        CopyForForensics {
            instance,
            snapshot,
            volume,
            case,
            kms_key,
            share_with,
        } => {
            let r = copy_request(instance, snapshot, volume, *case, kms_key, share_with);
            let copy = crate::forensics::copy_for_forensics(cx.conn(), cx.region(), r).await?;
            return Ok(serde_json::to_value(&copy).unwrap_or(Value::Null));
        }
        EnsureGroup { vpc, name, open } => {
            if let Some(id) = group_id(cx, vpc, name).await? {
                return Ok(json!({ "group": id, "created": false }));
            }
            let out = send!(
                "ec2",
                "CreateSecurityGroup",
                cx.ec2()
                    .create_security_group()
                    .group_name(name)
                    .vpc_id(vpc)
                    .description(if *open {
                        "Firebreak isolation, step 1: allows all so tracked connections become untracked"
                    } else {
                        "Firebreak isolation: no rules"
                    })
            )?;
            let id = out.group_id().unwrap_or_default().to_string();
            let all = ec2t::IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(ec2t::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build();
            if *open {
                send!(
                    "ec2",
                    "AuthorizeSecurityGroupIngress",
                    cx.ec2()
                        .authorize_security_group_ingress()
                        .group_id(&id)
                        .ip_permissions(all)
                )?;
            } else {
                send!(
                    "ec2",
                    "RevokeSecurityGroupEgress",
                    cx.ec2()
                        .revoke_security_group_egress()
                        .group_id(&id)
                        .ip_permissions(all)
                )?;
            }
            return Ok(json!({ "group": id, "created": true }));
        }
        RevokeGroupRules { group } => {
            let out = send!(
                "ec2",
                "DescribeSecurityGroups",
                cx.ec2().describe_security_groups().group_ids(group)
            )?;
            let Some(g) = out.security_groups().first() else {
                return Err(AwsError::Call {
                    service: "ec2",
                    operation: "DescribeSecurityGroups",
                    code: Some("InvalidGroup.NotFound".into()),
                    message: format!("no security group {group}"),
                });
            };
            let (ingress, egress) = (
                g.ip_permissions().to_vec(),
                g.ip_permissions_egress().to_vec(),
            );
            if !ingress.is_empty() {
                send!(
                    "ec2",
                    "RevokeSecurityGroupIngress",
                    cx.ec2()
                        .revoke_security_group_ingress()
                        .group_id(group)
                        .set_ip_permissions(Some(ingress.clone()))
                )?;
            }
            if !egress.is_empty() {
                send!(
                    "ec2",
                    "RevokeSecurityGroupEgress",
                    cx.ec2()
                        .revoke_security_group_egress()
                        .group_id(group)
                        .set_ip_permissions(Some(egress.clone()))
                )?;
            }
            return Ok(json!({ "group": group, "repaired": true,
                "revoked": ingress.len() + egress.len() }));
        }
        SetEniGroups { eni, groups } => {
            let mut ids = Vec::new();
            for g in groups {
                ids.push(match g {
                    GroupRef::Id(id) => id.clone(),
                    GroupRef::Named { vpc, name } => {
                        group_id(cx, vpc, name)
                            .await?
                            .ok_or_else(|| AwsError::Call {
                                service: "ec2",
                                operation: "ModifyNetworkInterfaceAttribute",
                                code: None,
                                message: format!("security group {name} does not exist in {vpc}"),
                            })?
                    }
                });
            }
            send!(
                "ec2",
                "ModifyNetworkInterfaceAttribute",
                cx.ec2()
                    .modify_network_interface_attribute()
                    .network_interface_id(eni)
                    .set_groups(Some(ids.clone()))
            )?;
            return Ok(json!({ "eni": eni, "groups": ids }));
        }
        DisassociateProfile { association } => {
            send!(
                "ec2",
                "DisassociateIamInstanceProfile",
                cx.ec2()
                    .disassociate_iam_instance_profile()
                    .association_id(association)
            )?;
        }
        SetInstanceProfile {
            instance,
            profile_arn,
        } => {
            let spec = ec2t::IamInstanceProfileSpecification::builder()
                .arn(profile_arn)
                .build();
            match crate::respond::actions::profile_association(cx, instance).await? {
                Some((association, _)) => {
                    send!(
                        "ec2",
                        "ReplaceIamInstanceProfileAssociation",
                        cx.ec2()
                            .replace_iam_instance_profile_association()
                            .association_id(association)
                            .iam_instance_profile(spec)
                    )?;
                }
                None => {
                    send!(
                        "ec2",
                        "AssociateIamInstanceProfile",
                        cx.ec2()
                            .associate_iam_instance_profile()
                            .instance_id(instance)
                            .iam_instance_profile(spec)
                    )?;
                }
            }
        }
        SetMetadataOptions {
            instance,
            tokens,
            endpoint,
        } => {
            send!(
                "ec2",
                "ModifyInstanceMetadataOptions",
                cx.ec2()
                    .modify_instance_metadata_options()
                    .instance_id(instance)
                    .http_tokens(ec2t::HttpTokensState::from(tokens.as_str()))
                    .http_endpoint(ec2t::InstanceMetadataEndpointState::from(endpoint.as_str()))
            )?;
        }
        EnsureQuarantineAcl { vpc } => {
            if let Some(id) = quarantine_acl(cx, vpc).await? {
                return Ok(json!({ "acl": id, "created": false }));
            }
            let out = send!(
                "ec2",
                "CreateNetworkAcl",
                cx.ec2()
                    .create_network_acl()
                    .vpc_id(vpc)
                    .tag_specifications(
                        ec2t::TagSpecification::builder()
                            .resource_type(ec2t::ResourceType::NetworkAcl)
                            .tags(
                                ec2t::Tag::builder()
                                    .key(QUARANTINE_TAG)
                                    .value("true")
                                    .build()
                            )
                            .build()
                    )
            )?;
            let id = out
                .network_acl()
                .and_then(|a| a.network_acl_id())
                .unwrap_or_default();
            return Ok(json!({ "acl": id, "created": true }));
        }
        SetSubnetAcl { subnet, acl } => {
            let acl_id = match acl {
                AclRef::Id(id) => id.clone(),
                AclRef::Quarantine { vpc } => {
                    quarantine_acl(cx, vpc)
                        .await?
                        .ok_or_else(|| AwsError::Call {
                            service: "ec2",
                            operation: "ReplaceNetworkAclAssociation",
                            code: None,
                            message: format!("no quarantine network ACL in {vpc}"),
                        })?
                }
            };
            let (association, _) = crate::respond::actions::subnet_acl(cx, subnet).await?;
            send!(
                "ec2",
                "ReplaceNetworkAclAssociation",
                cx.ec2()
                    .replace_network_acl_association()
                    .association_id(association)
                    .network_acl_id(&acl_id)
            )?;
            return Ok(json!({ "subnet": subnet, "acl": acl_id }));
        }
        StopInstance { instance } => {
            send!(
                "ec2",
                "StopInstances",
                cx.ec2().stop_instances().instance_ids(instance)
            )?;
        }
        StartInstance { instance } => {
            send!(
                "ec2",
                "StartInstances",
                cx.ec2().start_instances().instance_ids(instance)
            )?;
        }
        Share {
            kind: Shareable::Snapshot,
            id,
            add,
            with,
        } => {
            let op = if *add {
                ec2t::OperationType::Add
            } else {
                ec2t::OperationType::Remove
            };
            send!(
                "ec2",
                "ModifySnapshotAttribute",
                cx.ec2()
                    .modify_snapshot_attribute()
                    .snapshot_id(id)
                    .attribute(ec2t::SnapshotAttributeName::CreateVolumePermission)
                    .operation_type(op)
                    .set_user_ids((!with.accounts.is_empty()).then(|| with.accounts.clone()))
                    .set_group_names(with.public.then(|| vec!["all".to_string()]))
            )?;
        }
        Share {
            kind: Shareable::Image,
            id,
            add,
            with,
        } => {
            let perms: Vec<ec2t::LaunchPermission> = with
                .accounts
                .iter()
                .map(|a| ec2t::LaunchPermission::builder().user_id(a).build())
                .chain(with.public.then(|| {
                    ec2t::LaunchPermission::builder()
                        .group(ec2t::PermissionGroup::All)
                        .build()
                }))
                .collect();
            let mods = if *add {
                ec2t::LaunchPermissionModifications::builder()
                    .set_add(Some(perms))
                    .build()
            } else {
                ec2t::LaunchPermissionModifications::builder()
                    .set_remove(Some(perms))
                    .build()
            };
            send!(
                "ec2",
                "ModifyImageAttribute",
                cx.ec2()
                    .modify_image_attribute()
                    .image_id(id)
                    .launch_permission(mods)
            )?;
        }
        CreateFlowLogs {
            vpcs,
            log_group,
            role_arn,
            bucket_arn,
        } => {
            let mut req = cx
                .ec2()
                .create_flow_logs()
                .set_resource_ids(Some(vpcs.clone()))
                .resource_type(ec2t::FlowLogsResourceType::Vpc)
                .traffic_type(ec2t::TrafficType::All);
            req = match bucket_arn {
                Some(b) => req
                    .log_destination_type(ec2t::LogDestinationType::S3)
                    .log_destination(b),
                None => req
                    .log_destination_type(ec2t::LogDestinationType::CloudWatchLogs)
                    .set_log_group_name(log_group.clone())
                    .set_deliver_logs_permission_arn(role_arn.clone()),
            };
            let out = send!("ec2", "CreateFlowLogs", req)?;
            if let Some(u) = out.unsuccessful().first() {
                return Err(AwsError::Call {
                    service: "ec2",
                    operation: "CreateFlowLogs",
                    code: u.error().and_then(|e| e.code()).map(str::to_string),
                    message: format!("{:?}", u.error()),
                });
            }
            return Ok(json!({ "flow_logs": out.flow_log_ids() }));
        }
        other => unreachable!("not an EC2 call: {}", other.describe()),
    }
    Ok(Value::Null)
}
