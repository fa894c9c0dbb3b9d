//! VPC endpoints and VPC peering connections against moto.

use mkso::engine::{DriftKind, Op};
use mkso::prelude::*;
use mkso_providers_aws::*;

use crate::resources::{boxed, drifted, empty, network, tags};
use crate::{Env, Program, op};

const S3: &str = "com.amazonaws.us-east-1.s3";
const DYNAMODB: &str = "com.amazonaws.us-east-1.dynamodb";

/// A gateway endpoint to `service` routed from route table `rt-a` (and
/// `rt-b` with `both`), with `policy`; and an interface endpoint in the
/// subnet.
fn endpoint_program(
    service: &'static str,
    both: bool,
    policy: Option<&'static str>,
) -> Box<Program> {
    boxed(move |s| {
        let (vpc, sn) = network(s)?;
        let table = |name: &str| {
            RouteTable::new(
                s,
                name,
                RouteTableArgs::builder().vpc_id(vpc.id()),
                ResourceOptions::new(),
            )
        };
        let mut tables = vec![table("rt-a")?.id()];
        let b = table("rt-b")?;
        if both {
            tables.push(b.id());
        }
        let gw = VpcEndpoint::new(
            s,
            "gw",
            VpcEndpointArgs::builder()
                .vpc_id(vpc.id())
                .service_name(service)
                .route_table_ids(Output::all_vec(tables))
                .policy(policy.map(String::from))
                .tags(tags("a")),
            ResourceOptions::new(),
        )?;
        s.export("prefix_list", gw.prefix_list_id());
        VpcEndpoint::new(
            s,
            "api",
            VpcEndpointArgs::builder()
                .vpc_id(vpc.id())
                .service_name("com.amazonaws.us-east-1.ecr.api")
                .vpc_endpoint_type(Some("Interface".to_string()))
                .subnet_ids(sn.id().map(|s| vec![s]))
                .private_dns_enabled(Some(false)),
            ResourceOptions::new(),
        )?;
        Ok(())
    })
}

const READ_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":"*"}]}"#;

#[tokio::test]
async fn vpc_endpoint() {
    let env = Env::new("Endpoint");
    let c = env.client().await.clone();
    let v1 = endpoint_program(S3, false, None);
    let plan = env.up(&*v1).await;
    assert_eq!(op(&plan, "gw"), Op::Create);
    assert_eq!(op(&plan, "api"), Op::Create);
    let (gw, api, rt_a, rt_b) = (
        env.id("gw").await,
        env.id("api").await,
        env.id("rt-a").await,
        env.id("rt-b").await,
    );
    let get = |id: String| {
        let c = c.clone();
        async move {
            c.describe_vpc_endpoints()
                .vpc_endpoint_ids(id)
                .send()
                .await
                .unwrap()
                .vpc_endpoints()[0]
                .clone()
        }
    };
    let routes_to = |table: String| {
        let (c, gw) = (c.clone(), gw.clone());
        async move {
            c.describe_route_tables()
                .route_table_ids(table)
                .send()
                .await
                .unwrap()
                .route_tables()[0]
                .routes()
                .iter()
                .filter(|r| r.gateway_id() == Some(gw.as_str()))
                .count()
        }
    };
    let e = get(gw.clone()).await;
    assert_eq!(e.service_name(), Some(S3));
    assert_eq!(e.route_table_ids(), std::slice::from_ref(&rt_a));
    assert_eq!(env.tags(&gw).await["team"], "a");
    assert_eq!(
        routes_to(rt_a.clone()).await,
        1,
        "rt-a routes to the service"
    );
    let prefix_list = env.state().await.outputs["prefix_list"].clone();
    assert!(
        prefix_list.as_str().unwrap().starts_with("pl-"),
        "{prefix_list}"
    );
    let i = get(api.clone()).await;
    assert_eq!(
        i.network_interface_ids().len(),
        1,
        "one interface in the subnet"
    );
    assert_eq!(i.private_dns_enabled(), Some(false));
    assert!(!env.preview(&*v1).await.has_changes());

    // In place: a second route table and a policy.
    let v2 = endpoint_program(S3, true, Some(READ_ONLY));
    let plan = env.up(&*v2).await;
    assert_eq!(op(&plan, "gw"), Op::Update);
    assert_eq!(env.id("gw").await, gw, "updated, not replaced");
    let e = get(gw.clone()).await;
    let mut tables = e.route_table_ids().to_vec();
    tables.sort();
    let mut want = vec![rt_a.clone(), rt_b.clone()];
    want.sort();
    assert_eq!(tables, want);
    assert_eq!(routes_to(rt_b.clone()).await, 1, "rt-b routes to it now");
    let policy: serde_json::Value = serde_json::from_str(e.policy_document().unwrap()).unwrap();
    assert_eq!(policy["Statement"][0]["Action"][0], "s3:GetObject");
    assert!(!env.preview(&*v2).await.has_changes());

    // Drift: the policy changed behind mkso's back; the interface endpoint
    // deleted.
    c.modify_vpc_endpoint()
        .vpc_endpoint_id(&gw)
        .policy_document(READ_ONLY.replace("s3:GetObject", "s3:*"))
        .send()
        .await
        .unwrap();
    c.delete_vpc_endpoints()
        .vpc_endpoint_ids(&api)
        .send()
        .await
        .unwrap();
    let r = env.refresh(&*v2).await;
    assert_eq!(drifted(&r, "gw"), DriftKind::Changed(vec!["policy".into()]));
    assert_eq!(drifted(&r, "api"), DriftKind::Deleted);
    let plan = env.up(&*v2).await;
    assert_eq!(op(&plan, "gw"), Op::Update);
    assert_eq!(op(&plan, "api"), Op::Create);
    let policy: serde_json::Value =
        serde_json::from_str(get(gw.clone()).await.policy_document().unwrap()).unwrap();
    assert_eq!(policy["Statement"][0]["Action"][0], "s3:GetObject");
    let api2 = env.id("api").await;
    assert_ne!(api2, api);
    assert!(!env.preview(&*v2).await.has_changes());

    // Import the gateway endpoint into another stack.
    let other = Env::new("EndpointImport");
    let (vpc, tables, id) = (env.id("vpc").await, want.clone(), gw.clone());
    let imported = boxed(move |s| {
        VpcEndpoint::new(
            s,
            "gw",
            VpcEndpointArgs::builder()
                .vpc_id(vpc.clone())
                .service_name(S3)
                .route_table_ids(tables.clone())
                .policy(Some(READ_ONLY.to_string()))
                .tags(tags("a")),
            ResourceOptions::new().import(id.clone()),
        )?;
        Ok(())
    });
    let plan = other.up(&*imported).await;
    assert_eq!(op(&plan, "gw"), Op::Import);

    // Replace: another service. The new endpoint comes first, then the old
    // goes with its routes.
    let v3 = endpoint_program(DYNAMODB, true, Some(READ_ONLY));
    let plan = env.up(&*v3).await;
    assert_eq!(op(&plan, "gw"), Op::Replace);
    let gw2 = env.id("gw").await;
    assert_ne!(gw2, gw);
    assert_eq!(get(gw2.clone()).await.service_name(), Some(DYNAMODB));
    assert_eq!(get(gw.clone()).await.state().unwrap().as_str(), "deleted");
    assert_eq!(
        routes_to(rt_a.clone()).await,
        0,
        "the old endpoint's routes are gone"
    );

    // Delete.
    env.up(&*empty()).await;
    for id in [gw2, api2] {
        // (EC2 shows a deleted endpoint for a while; moto for good.)
        let state = get(id.clone()).await.state().unwrap().as_str().to_string();
        assert_eq!(state, "deleted", "{id}");
    }
}

/// VPCs `vpc` (from [`network`]), `vpc-b` and `vpc-c`; connection `peer`
/// from `vpc` to `vpc-b` (or `vpc-c`), accepted as it is created, with the
/// DNS option `dns`; with `manual`, connection `manual` from `vpc-b` to
/// `vpc-c` accepted by `accept` (unless `accepted` is off).
fn peering_program(to_c: bool, dns: Option<bool>, manual: bool, accepted: bool) -> Box<Program> {
    boxed(move |s| {
        let (vpc, _) = network(s)?;
        let other = |name: &str, cidr: &str| {
            Vpc::new(
                s,
                name,
                VpcArgs::builder().cidr_block(cidr),
                ResourceOptions::new(),
            )
        };
        let b = other("vpc-b", "10.4.0.0/16")?;
        let c = other("vpc-c", "10.5.0.0/16")?;
        VpcPeeringConnection::new(
            s,
            "peer",
            VpcPeeringConnectionArgs::builder()
                .vpc_id(vpc.id())
                .peer_vpc_id(if to_c { c.id() } else { b.id() })
                .auto_accept(true)
                .allow_remote_vpc_dns_resolution(dns)
                .tags(tags("a")),
            ResourceOptions::new(),
        )?;
        if manual {
            let m = VpcPeeringConnection::new(
                s,
                "manual",
                VpcPeeringConnectionArgs::builder()
                    .vpc_id(b.id())
                    .peer_vpc_id(c.id()),
                ResourceOptions::new(),
            )?;
            if accepted {
                VpcPeeringConnectionAccepter::new(
                    s,
                    "accept",
                    VpcPeeringConnectionAccepterArgs::builder().vpc_peering_connection_id(m.id()),
                    ResourceOptions::new(),
                )?;
            }
        }
        Ok(())
    })
}

#[tokio::test]
async fn vpc_peering_connection_and_accepter() {
    let env = Env::new("Peering");
    let c = env.client().await.clone();
    let get = |id: String| {
        let c = c.clone();
        async move {
            c.describe_vpc_peering_connections()
                .vpc_peering_connection_ids(&id)
                .send()
                .await
                .unwrap()
                .vpc_peering_connections()
                .iter()
                .find(|p| p.vpc_peering_connection_id() == Some(id.as_str()))
                .unwrap()
                .clone()
        }
    };
    let status = |p: &mkso_providers_aws::sdk::ec2::types::VpcPeeringConnection| {
        p.status().unwrap().code().unwrap().as_str().to_string()
    };
    let v1 = peering_program(false, None, false, false);
    let plan = env.up(&*v1).await;
    assert_eq!(op(&plan, "peer"), Op::Create);
    let (peer, vpc, vpc_b) = (
        env.id("peer").await,
        env.id("vpc").await,
        env.id("vpc-b").await,
    );
    let p = get(peer.clone()).await;
    assert_eq!(status(&p), "active", "accepted as it was created");
    assert_eq!(p.requester_vpc_info().unwrap().vpc_id(), Some(vpc.as_str()));
    assert_eq!(
        p.accepter_vpc_info().unwrap().vpc_id(),
        Some(vpc_b.as_str())
    );
    assert_eq!(env.tags(&peer).await["team"], "a");
    assert!(!env.preview(&*v1).await.has_changes());

    // In place: DNS resolution across it.
    let v2 = peering_program(false, Some(true), false, false);
    let plan = env.up(&*v2).await;
    assert_eq!(op(&plan, "peer"), Op::Update);
    assert_eq!(env.id("peer").await, peer);
    let dns = |p: &mkso_providers_aws::sdk::ec2::types::VpcPeeringConnection| {
        p.requester_vpc_info()
            .unwrap()
            .peering_options()
            .unwrap()
            .allow_dns_resolution_from_remote_vpc()
    };
    assert_eq!(dns(&get(peer.clone()).await), Some(true));
    assert!(!env.preview(&*v2).await.has_changes());

    // Drift: the option turned off behind mkso's back, then the connection
    // deleted; refresh reports each, up repairs.
    c.modify_vpc_peering_connection_options()
        .vpc_peering_connection_id(&peer)
        .requester_peering_connection_options(
            mkso_providers_aws::sdk::ec2::types::PeeringConnectionOptionsRequest::builder()
                .allow_dns_resolution_from_remote_vpc(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let r = env.refresh(&*v2).await;
    assert_eq!(
        drifted(&r, "peer"),
        DriftKind::Changed(vec!["allow_remote_vpc_dns_resolution".into()])
    );
    env.up(&*v2).await;
    assert_eq!(dns(&get(peer.clone()).await), Some(true));
    c.delete_vpc_peering_connection()
        .vpc_peering_connection_id(&peer)
        .send()
        .await
        .unwrap();
    let r = env.refresh(&*v2).await;
    assert_eq!(drifted(&r, "peer"), DriftKind::Deleted);
    let plan = env.up(&*v2).await;
    assert_eq!(op(&plan, "peer"), Op::Create);
    let peer = env.id("peer").await;
    assert_eq!(status(&get(peer.clone()).await), "active");
    assert!(!env.preview(&*v2).await.has_changes());

    // Import it into another stack.
    let other = Env::new("PeeringImport");
    let (a, b, id) = (vpc.clone(), vpc_b.clone(), peer.clone());
    let imported = boxed(move |s| {
        VpcPeeringConnection::new(
            s,
            "peer",
            VpcPeeringConnectionArgs::builder()
                .vpc_id(a.clone())
                .peer_vpc_id(b.clone())
                .auto_accept(true)
                .allow_remote_vpc_dns_resolution(Some(true))
                .tags(tags("a")),
            ResourceOptions::new().import(id.clone()),
        )?;
        Ok(())
    });
    let plan = other.up(&*imported).await;
    assert_eq!(op(&plan, "peer"), Op::Import);

    // A connection the other side accepts: pending until the accepter.
    let v3 = peering_program(false, Some(true), true, false);
    env.up(&*v3).await;
    let manual = env.id("manual").await;
    assert_eq!(status(&get(manual.clone()).await), "pending-acceptance");
    assert!(!env.preview(&*v3).await.has_changes());
    let v4 = peering_program(false, Some(true), true, true);
    let plan = env.up(&*v4).await;
    assert_eq!(op(&plan, "accept"), Op::Create);
    assert_eq!(env.id("accept").await, manual, "its id is the connection's");
    assert_eq!(status(&get(manual.clone()).await), "active");
    assert!(!env.preview(&*v4).await.has_changes());
    // Deleting the accepter leaves the connection.
    env.up(&*v3).await;
    assert_eq!(status(&get(manual.clone()).await), "active");

    // Replace: another peer VPC.
    let v5 = peering_program(true, Some(true), true, false);
    let plan = env.up(&*v5).await;
    assert_eq!(op(&plan, "peer"), Op::Replace);
    let peer2 = env.id("peer").await;
    assert_ne!(peer2, peer);
    assert_eq!(status(&get(peer.clone()).await), "deleted");
    assert_eq!(status(&get(peer2.clone()).await), "active");

    // Delete.
    env.up(&*empty()).await;
    for id in [peer2, manual] {
        assert_eq!(status(&get(id.clone()).await), "deleted", "{id}");
    }
}
