//! `AwsWebService`: an internet-facing application load balancer in the
//! public subnets, a listener forwarding to a target group, and the targets
//! in the private subnets — instances the program declares (e.g. in a
//! rolling group) or an Auto Scaling group the service declares from a
//! launch template. The security groups are chained: the load balancer's
//! group takes the listener port from anywhere, the instances' group takes
//! the service port from the load balancer's group only.
//!
//! ```
//! use mkso::prelude::*;
//! use mkso_components::{AwsWebService, AwsWebServiceArgs, WebTargets};
//!
//! fn program(stack: &Stack) -> Result<(), mkso::Error> {
//!     let args = AwsWebServiceArgs::new(
//!         Output::new("vpc-1".to_string()),
//!         Output::new(vec!["subnet-pub-a".to_string(), "subnet-pub-b".to_string()]),
//!         Output::new(vec!["subnet-priv-a".to_string(), "subnet-priv-b".to_string()]),
//!         WebTargets::auto_scaling("ami-12c6146b", "t3.micro", 2, 4),
//!     );
//!     let web = AwsWebService::new(stack, "web", args, ResourceOptions::new())?;
//!     stack.export("url", web.dns_name.clone());
//!     Ok(())
//! }
//! let graph = mkso::testing::preview(program).stack("aws.app.QA").run().unwrap();
//! assert_eq!(graph.resources_of_type("aws:elbv2:LoadBalancer").len(), 1);
//! assert_eq!(graph.resources_of_type("aws:autoscaling:AutoScalingGroup").len(), 1);
//! ```

use std::collections::BTreeMap;

use mkso::prelude::*;
use mkso_providers_aws::{
    AutoScalingGroup, AutoScalingGroupArgs, LaunchTemplate, LaunchTemplateArgs, Listener,
    ListenerArgs, LoadBalancer, LoadBalancerArgs, SecurityGroup, SecurityGroupArgs,
    SecurityGroupRule, SecurityGroupRuleArgs, TargetGroup, TargetGroupArgs, TargetGroupAttachment,
    TargetGroupAttachmentArgs,
};

/// What serves behind the load balancer.
#[derive(Debug, Clone)]
pub enum WebTargets {
    /// Instances the program declares itself, in a security group of its
    /// own: the service registers them and lets the load balancer's group
    /// into theirs.
    Instances {
        /// The instances' ids.
        ids: Vec<Output<String>>,
        /// Their security group.
        security_group_id: Output<String>,
    },
    /// An Auto Scaling group the service declares, launching from a
    /// template it declares, in a security group it declares.
    AutoScaling(AutoScalingTargets),
}

/// The Auto Scaling group of [`WebTargets::AutoScaling`].
#[derive(Debug, Clone)]
pub struct AutoScalingTargets {
    /// The AMI id.
    pub image_id: String,
    /// The instance type.
    pub instance_type: String,
    /// User data (a secret stays secret).
    pub user_data: Option<Output<String>>,
    /// The instance profile's ARN (the role the instances take).
    pub iam_instance_profile_arn: Option<Output<String>>,
    /// The fewest instances.
    pub min_size: i32,
    /// The most instances.
    pub max_size: i32,
}

impl WebTargets {
    /// An Auto Scaling group of `min..=max` instances of `image_id`.
    pub fn auto_scaling(image_id: &str, instance_type: &str, min: i32, max: i32) -> WebTargets {
        WebTargets::AutoScaling(AutoScalingTargets {
            image_id: image_id.to_string(),
            instance_type: instance_type.to_string(),
            user_data: None,
            iam_instance_profile_arn: None,
            min_size: min,
            max_size: max,
        })
    }
}

/// The service's settings.
#[derive(Debug, Clone)]
pub struct AwsWebServiceArgs {
    /// The VPC.
    pub vpc_id: Output<String>,
    /// Where the load balancer lives (two zones at least).
    pub public_subnet_ids: Output<Vec<String>>,
    /// Where the Auto Scaling group launches.
    pub private_subnet_ids: Output<Vec<String>>,
    /// The targets.
    pub targets: WebTargets,
    /// The port the load balancer listens on (default 80).
    pub listener_port: i32,
    /// The port the targets serve on (default 80).
    pub port: i32,
    /// The health check's path (default `/`).
    pub health_check_path: String,
    /// Tags for every resource of the service.
    pub tags: BTreeMap<String, String>,
}

impl AwsWebServiceArgs {
    /// Settings with the defaults: HTTP on port 80, health check on `/`.
    pub fn new(
        vpc_id: Output<String>,
        public_subnet_ids: Output<Vec<String>>,
        private_subnet_ids: Output<Vec<String>>,
        targets: WebTargets,
    ) -> AwsWebServiceArgs {
        AwsWebServiceArgs {
            vpc_id,
            public_subnet_ids,
            private_subnet_ids,
            targets,
            listener_port: 80,
            port: 80,
            health_check_path: "/".to_string(),
            tags: BTreeMap::new(),
        }
    }
}

/// A web service; see the module docs.
#[derive(Debug, Clone, mkso::ComponentOutputs)]
pub struct AwsWebService {
    /// The component.
    pub component: ComponentResource,
    /// The load balancer's DNS name (what a DNS record points at).
    pub dns_name: Output<String>,
    /// The Route 53 zone of that name (for an alias record).
    pub zone_id: Output<String>,
    /// The load balancer's ARN.
    pub load_balancer_arn: Output<String>,
    /// The target group's ARN.
    pub target_group_arn: Output<String>,
    /// The load balancer's security group.
    pub load_balancer_security_group_id: Output<String>,
    /// The targets' security group (what a database lets in).
    pub instance_security_group_id: Output<String>,
}

impl AwsWebService {
    /// The component's type token.
    pub const TYPE: &'static str = "mkso:components:AwsWebService";

    /// Declares the service `name`.
    pub fn new(
        stack: &Stack,
        name: &str,
        args: AwsWebServiceArgs,
        opts: ResourceOptions,
    ) -> Result<Self, mkso::Error> {
        for (what, port) in [("listener_port", args.listener_port), ("port", args.port)] {
            if !(1..=65535).contains(&port) {
                return Err(mkso::Error::program(format!(
                    "web service `{name}`: {what} {port} is not a port (1 to 65535)"
                )));
            }
        }
        if let WebTargets::AutoScaling(a) = &args.targets
            && (a.min_size < 0 || a.min_size > a.max_size || a.max_size == 0)
        {
            return Err(mkso::Error::program(format!(
                "web service `{name}`: min_size {} and max_size {} do not make a group (0 <= min <= max, max >= 1)",
                a.min_size, a.max_size
            )));
        }
        let c = stack.component(Self::TYPE, name, opts)?;
        let o = || c.child_opts();
        let tags = args.tags.clone();

        let lb_sg = SecurityGroup::new(
            stack,
            "alb-sg",
            SecurityGroupArgs::builder()
                .vpc_id(args.vpc_id.clone())
                .description(Some(format!("load balancer of {name}")))
                .tags(tags.clone()),
            o(),
        )?;
        SecurityGroupRule::new(
            stack,
            "alb-in",
            SecurityGroupRuleArgs::builder()
                .security_group_id(lb_sg.id())
                .direction("ingress")
                .protocol("tcp")
                .from_port(args.listener_port)
                .to_port(args.listener_port)
                .cidr_blocks(vec!["0.0.0.0/0".to_string()])
                .description(Some("clients from anywhere".to_string())),
            o(),
        )?;
        let instance_sg = match &args.targets {
            WebTargets::Instances {
                security_group_id, ..
            } => security_group_id.clone(),
            WebTargets::AutoScaling(_) => SecurityGroup::new(
                stack,
                "instances-sg",
                SecurityGroupArgs::builder()
                    .vpc_id(args.vpc_id.clone())
                    .description(Some(format!("instances of {name}")))
                    .tags(tags.clone()),
                o(),
            )?
            .id(),
        };
        // Only the load balancer reaches the instances.
        SecurityGroupRule::new(
            stack,
            "instances-from-alb",
            SecurityGroupRuleArgs::builder()
                .security_group_id(instance_sg.clone())
                .direction("ingress")
                .protocol("tcp")
                .from_port(args.port)
                .to_port(args.port)
                .source_security_group_id(lb_sg.id().map(Some))
                .description(Some(format!("from the load balancer of {name}"))),
            o(),
        )?;
        let tg = TargetGroup::new(
            stack,
            "tg",
            TargetGroupArgs::builder()
                .port(args.port)
                .vpc_id(args.vpc_id.clone())
                .health_check_path(Some(args.health_check_path.clone()))
                .deregistration_delay(Some(30))
                .tags(tags.clone()),
            o(),
        )?;
        let lb = LoadBalancer::new(
            stack,
            "alb",
            LoadBalancerArgs::builder()
                .subnets(args.public_subnet_ids.clone())
                .security_groups(lb_sg.id().map(|g| vec![g]))
                .tags(tags.clone()),
            o(),
        )?;
        Listener::new(
            stack,
            "http",
            ListenerArgs::builder()
                .load_balancer_arn(lb.arn())
                .port(args.listener_port)
                .target_group_arn(tg.arn())
                .tags(tags.clone()),
            o(),
        )?;
        match &args.targets {
            WebTargets::Instances { ids, .. } => {
                for (i, id) in ids.iter().enumerate() {
                    TargetGroupAttachment::new(
                        stack,
                        &format!("target-{i}"),
                        TargetGroupAttachmentArgs::builder()
                            .target_group_arn(tg.arn())
                            .target_id(id.clone())
                            .port(Some(args.port)),
                        o(),
                    )?;
                }
            }
            WebTargets::AutoScaling(a) => {
                let mut lt_args = LaunchTemplateArgs::builder()
                    .image_id(a.image_id.clone())
                    .instance_type(a.instance_type.clone())
                    .security_group_ids(instance_sg.map(|g| vec![g]))
                    .tags(tags.clone());
                if let Some(u) = &a.user_data {
                    lt_args = lt_args.user_data(u.clone());
                }
                if let Some(p) = &a.iam_instance_profile_arn {
                    lt_args = lt_args.iam_instance_profile_arn(p.clone());
                }
                let lt = LaunchTemplate::new(stack, "launch-template", lt_args, o())?;
                AutoScalingGroup::new(
                    stack,
                    "asg",
                    AutoScalingGroupArgs::builder()
                        .launch_template_id(lt.id())
                        .launch_template_version(lt.latest_version().map(|v| Some(v.to_string())))
                        .min_size(a.min_size)
                        .max_size(a.max_size)
                        .subnet_ids(args.private_subnet_ids.clone())
                        .target_group_arns(tg.arn().map(|a| vec![a]))
                        .health_check_type(Some("ELB".to_string()))
                        .tags(tags.clone()),
                    o(),
                )?;
            }
        }
        let web = AwsWebService {
            component: c,
            dns_name: lb.dns_name(),
            zone_id: lb.zone_id(),
            load_balancer_arn: lb.arn(),
            target_group_arn: tg.arn(),
            load_balancer_security_group_id: lb_sg.id(),
            instance_security_group_id: instance_sg,
        };
        web.component.register_outputs(&web);
        Ok(web)
    }
}
